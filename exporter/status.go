package exporter

import "time"

// statusRow is one probe target's health on /status. It shows names and
// errors (scrubbed), never DSNs.
type statusRow struct {
	Probe, Target, LastSuccess, Duration, Error string
	Up                                          bool
}

// statusRows lists every probe target. Called with e.mu held.
func (e *Exporter) statusRows() []statusRow {
	var rows []statusRow
	if e.repl != nil {
		rows = e.repl.statusRows()
	}
	if e.canary != nil {
		rows = append(rows, e.canary.statusRows()...)
	}
	return rows
}

func (h *health) row(probe, target string) statusRow {
	return statusRow{Probe: probe, Target: target, Up: h.up, LastSuccess: stamp(h.lastSuccess),
		Duration: h.duration.Round(time.Millisecond).String(), Error: h.lastError}
}

func (r *replication) statusRows() []statusRow {
	var rows []statusRow
	if p := r.primary; p != nil {
		p.mu.RLock()
		rows = append(rows, p.health.row(probePrimary, "primary"))
		p.mu.RUnlock()
	}
	for _, t := range r.replicas {
		t.mu.RLock()
		rows = append(rows, t.health.row(probeReplica, t.name))
		t.mu.RUnlock()
	}
	return rows
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *canary) statusRows() []statusRow {
	var rows []statusRow
	for _, s := range c.sources {
		s.mu.RLock()
		rows = append(rows, s.health.row(probeSource, s.name))
		s.mu.RUnlock()
	}
	// An origin succeeds when it answers: "last success" is its last OCSP
	// response of any status, not the end of a pass whose every request
	// may have failed; the counts are in the origins table.
	for _, o := range c.origins {
		o.mu.RLock()
		row := statusRow{Probe: probeOCSP, Target: o.name, Up: o.up, LastSuccess: stamp(o.lastAnswer), Error: o.lastErr}
		if !o.lastPass.IsZero() {
			row.Duration = o.passTook.Round(time.Millisecond).String()
		}
		rows = append(rows, row)
		o.mu.RUnlock()
	}
	return rows
}
