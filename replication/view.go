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
		rep := view.Replica{Name: t.name, Upstream: t.upstream, Up: h.Up, LastSuccess: h.LastSuccess, LastError: h.LastError}
		if !h.Probed {
			rep.LastError = "not probed yet"
		}
		if h.Up {
			// A status hidden from the role (no pg_read_all_stats) is not shown as a fault.
			streaming, known := v.Status.Streaming()
			rep.Streaming, rep.ReplayPaused = streaming || !known, v.Status.ReplayPaused
			rep.ReplayLagSecs = v.ReplayLagSeconds
			if v.HasPrimary {
				rep.ReceiveLagBytes, rep.ReplayLagBytes = ptr(float64(v.ReceiveLagBytes)), ptr(float64(v.ReplayLagBytes))
			}
			if v.HasHeadroom {
				rep.HeadroomBytes, rep.WALLost, rep.WALUnrecoverable = ptr(v.HeadroomBytes), v.WALLost, v.Unrecoverable
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
