package replication

import "github.com/certstatus/certstatus_exporter/internal/target"

// Status implements exporter.Component.
func (r *replication) Status() []target.Row {
	var rows []target.Row
	if p := r.primary; p != nil {
		p.mu.RLock()
		rows = append(rows, p.health.Row(probePrimary, "primary"))
		p.mu.RUnlock()
	}
	for _, t := range r.replicas {
		t.mu.RLock()
		rows = append(rows, t.health.Row(probeReplica, t.name))
		t.mu.RUnlock()
	}
	return rows
}
