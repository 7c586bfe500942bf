package replication

import "github.com/certstatus/certstatus_exporter/internal/view"

// Replicas implements view.ReplicaLister from the last snapshot of each
// replica. Values the probe could not measure stay nil.
func (r *replication) Replicas() []view.Replica {
	out := make([]view.Replica, 0, len(r.replicas))
	for _, t := range r.replicas {
		t.mu.RLock()
		h, v := t.health, t.view
		t.mu.RUnlock()
		rep := view.Replica{Name: t.name, Up: h.Up, LastSuccess: h.LastSuccess, LastError: h.LastError}
		if !h.Probed {
			rep.LastError = "not probed yet"
		}
		if h.Up {
			rep.Streaming, rep.ReplayPaused = v.Status.Streaming(), v.Status.ReplayPaused
			rep.ReplayLagSecs = v.ReplayLagSeconds
			if v.HasPrimary {
				rep.ReceiveLagBytes, rep.ReplayLagBytes = ptr(float64(v.ReceiveLagBytes)), ptr(float64(v.ReplayLagBytes))
			}
			if v.HasHeadroom {
				rep.HeadroomBytes, rep.WALLost = ptr(v.HeadroomBytes), v.WALLost
			}
			if v.HasETA {
				rep.LossETASecs = ptr(v.ETASeconds)
			}
		}
		out = append(out, rep)
	}
	return out
}

func ptr(f float64) *float64 { return &f }
