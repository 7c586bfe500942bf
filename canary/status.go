package canary

import (
	"fmt"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Status implements exporter.Component. An origin's last success is its
// last OCSP response of any status, so an origin whose every request fails
// does not look fresh; the counts go in the summary.
func (c *canary) Status() []target.Row {
	var rows []target.Row
	for _, s := range c.sources {
		s.mu.RLock()
		rows = append(rows, s.health.Row(probeSource, s.name))
		s.mu.RUnlock()
	}
	for _, o := range c.origins {
		o.mu.RLock()
		st := o.stats
		rows = append(rows, target.Row{Probe: probeOCSP, Target: o.name, Probed: o.probed, Up: o.up,
			LastSuccess: o.lastAnswer, LastProbe: o.lastPass, Duration: o.passDuration,
			Summary: fmt.Sprintf("%d pending, %d authoritative, %d overdue", st.Pending, st.Authoritative, st.Overdue),
			Error:   o.lastErr})
		o.mu.RUnlock()
	}
	return append(rows, c.compliance.rows()...)
}
