package exporter

import (
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// viewState is what the incident view needs from the exporter right now:
// the running components (those offering a view implement internal/view's
// listers; they lock their own state and only copy it) and the settings.
func (e *Exporter) viewState() viewState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	st := viewState{link: e.certLink, reloadAt: e.reloadAt, reloadOK: e.reloadOK,
		web: config.Web{Refresh: config.Duration(config.DefaultWebRefresh), PageSize: config.DefaultWebPageSize}}
	// A config built in code (tests) may lack the defaults Load applies.
	if e.cfg != nil && e.cfg.Web.PageSize > 0 && e.cfg.Web.Refresh > 0 {
		st.web = e.cfg.Web
	}
	for _, c := range e.components {
		if c != nil {
			st.components = append(st.components, c)
			st.targets = append(st.targets, c.Status()...)
		}
	}
	return st
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// targetRow is a target.Row as the page shows it.
type targetRow struct {
	target.Row
	UpText, LastSuccessText, LastProbeText, Took string
}

func targetRows(rows []target.Row) []targetRow {
	out := make([]targetRow, 0, len(rows))
	for _, r := range rows {
		tr := targetRow{Row: r, LastSuccessText: stamp(r.LastSuccess), LastProbeText: stamp(r.LastProbe), Took: ms(r.Duration)}
		tr.UpText, _ = health(r.Probed, r.Up, "not yet probed", "up", "down")
		out = append(out, tr)
	}
	return out
}
