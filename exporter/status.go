package exporter

import (
	"fmt"
	"html/template"
	"net/http"
	"time"
)

// The status page shows each target's health. It shows names and errors
// (scrubbed), never DSNs.
var statusPage = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html><head><title>certstatus_exporter status</title>
<style>body{font-family:sans-serif}td,th{padding:2px 10px;text-align:left}.down{color:#b00}</style></head>
<body><h1>certstatus_exporter status</h1>
<p>Configuration loaded {{.ReloadAt}}; last reload {{if .ReloadOK}}succeeded{{else}}<b class="down">failed, previous configuration still running</b>{{end}}.</p>
<table><tr><th>probe</th><th>target</th><th>up</th><th>last success</th><th>last probe</th><th>last error</th></tr>
{{range .Rows}}<tr><td>{{.Probe}}</td><td>{{.Target}}</td><td{{if not .Up}} class="down"{{end}}>{{if .Up}}up{{else}}down{{end}}</td>
<td>{{.LastSuccess}}</td><td>{{.Duration}}</td><td>{{.Error}}</td></tr>
{{end}}</table></body></html>
`))

type statusRow struct {
	Probe, Target, LastSuccess, Duration, Error string
	Up                                          bool
}

func (e *Exporter) serveStatus(w http.ResponseWriter, _ *http.Request) {
	e.mu.RLock()
	data := struct {
		ReloadAt string
		ReloadOK bool
		Rows     []statusRow
	}{ReloadAt: stamp(e.reloadAt), ReloadOK: e.reloadOK}
	if e.repl != nil {
		data.Rows = e.repl.statusRows()
	}
	if e.canary != nil {
		data.Rows = append(data.Rows, e.canary.statusRows()...)
	}
	e.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = statusPage.Execute(w, data)
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
	for _, o := range c.origins {
		o.mu.RLock()
		st := o.stats
		rows = append(rows, statusRow{Probe: probeOCSP, Target: o.name, Up: o.up, LastSuccess: stamp(o.lastPass),
			Duration: fmt.Sprintf("%d pending, %d authoritative, %d overdue", st.Pending, st.Authoritative, st.Overdue),
			Error:    o.lastErr})
		o.mu.RUnlock()
	}
	return rows
}
