package exporter

import (
	"html/template"
	"net/http"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// The status page shows each target's health. It shows names and errors
// (scrubbed), never DSNs.
var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{"stamp": stamp, "ms": ms}).Parse(`<!DOCTYPE html>
<html><head><title>certstatus_exporter status</title>
<style>body{font-family:sans-serif}td,th{padding:2px 10px;text-align:left}.down{color:#b00}</style></head>
<body><h1>certstatus_exporter status</h1>
<p>Configuration loaded {{stamp .ReloadAt}}; last reload {{if .ReloadOK}}succeeded{{else}}<b class="down">failed, previous configuration still running</b>{{end}}.</p>
<table><tr><th>probe</th><th>target</th><th>up</th><th>last success</th><th>last probe</th><th>took</th><th>state</th><th>last error</th></tr>
{{range .Rows}}<tr><td>{{.Probe}}</td><td>{{.Target}}</td><td{{if not .Up}} class="down"{{end}}>{{if not .Probed}}not yet probed{{else if .Up}}up{{else}}down{{end}}</td>
<td>{{stamp .LastSuccess}}</td><td>{{stamp .LastProbe}}</td><td>{{ms .Duration}}</td><td>{{.Summary}}</td><td>{{.Error}}</td></tr>
{{end}}</table></body></html>
`))

func (e *Exporter) serveStatus(w http.ResponseWriter, _ *http.Request) {
	e.mu.RLock()
	data := struct {
		ReloadAt time.Time
		ReloadOK bool
		Rows     []target.Row
	}{ReloadAt: e.reloadAt, ReloadOK: e.reloadOK}
	for _, c := range e.components {
		if c != nil {
			data.Rows = append(data.Rows, c.Status()...)
		}
	}
	e.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = statusPage.Execute(w, data)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
