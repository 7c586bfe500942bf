package exporter

import (
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

//go:embed web/status.html
var webFS embed.FS

// statusTemplate is the incident view. html/template escapes every value,
// so a certificate's issuer or an error text cannot inject markup.
var statusTemplate = template.Must(template.ParseFS(webFS, "web/status.html"))

type statusData struct {
	Refresh          int
	Now              string
	Trouble          string
	ReloadAt         string
	ReloadOK         bool
	Replicas         []replicaRow
	Origins          []originRow
	Sources          []sourceRow
	Certs            []certRow
	CertTotal        int
	Page, Pages      int
	PrevURL, NextURL string
	Targets          []statusRow
}

type replicaRow struct {
	Name, Class, LastSuccess, Streaming, StreamClass    string
	ReceiveLag, ReplayLag, ReplayLagTime, Headroom, ETA string
	ETAClass, Lost, Error                               string
	Up                                                  bool
}

type originRow struct {
	Name, Class, Answering, LastPass, LastError string
	CDN                                         bool
	Pending, Authoritative, Overdue             int
}

type sourceRow struct {
	Name, Type, Class, UpText, Position, Lag, LastSuccess, Error string
}

type certRow struct {
	Serial, Link, State, StateClass, Class, Kind, Issuer string
	PublishedAt, Provenance, Age                         string
	Origins                                              []answerRow
}

type answerRow struct{ Origin, Result, Since, Class string }

// statusQuery is the certificate list of /status: every certificate some
// origin has not answered authoritatively, worst first.
func statusQuery(page, size int) view.CertificateQuery {
	return view.CertificateQuery{States: []view.State{view.Overdue, view.Pending}, Offset: (page - 1) * size, Limit: size}
}

// renderStatus builds the page data from the gathered incident.
func renderStatus(in incident, certs view.CertificatePage, overdue int, page, size int, link func(view.Certificate) string, now time.Time) statusData {
	d := statusData{Now: stamp(now), CertTotal: certs.Total, Page: page}
	d.Pages = max(1, (certs.Total+size-1)/size)
	if page > 1 {
		d.PrevURL = "?page=" + strconv.Itoa(page-1)
	}
	if page < d.Pages {
		d.NextURL = "?page=" + strconv.Itoa(page+1)
	}
	var trouble []string
	if overdue > 0 {
		trouble = append(trouble, plural(overdue, "overdue certificate"))
	}
	bad := 0
	for _, r := range in.Replicas {
		row := newReplicaRow(r)
		if row.Class != "" {
			bad++
		}
		d.Replicas = append(d.Replicas, row)
	}
	if bad > 0 {
		trouble = append(trouble, plural(bad, "replica")+" in trouble")
	}
	for _, o := range in.Origins {
		d.Origins = append(d.Origins, newOriginRow(o))
	}
	for _, s := range in.Sources {
		d.Sources = append(d.Sources, newSourceRow(s))
	}
	for _, c := range certs.Certificates {
		d.Certs = append(d.Certs, newCertRow(c, link(c), now))
	}
	d.Trouble = strings.Join(trouble, ", ")
	return d
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func newReplicaRow(r view.Replica) replicaRow {
	row := replicaRow{Name: r.Name, Up: r.Up, LastSuccess: stamp(r.LastSuccess), Error: r.Error,
		ReceiveLag: "?", ReplayLag: "?", Headroom: "?", ETA: "?", Lost: "?"}
	switch replicaSeverity(r) {
	case 0, 1:
		row.Class = "bad"
	case 2:
		row.Class = "warn"
	}
	if !r.Up {
		row.Streaming, row.ReplayLagTime = "?", "?"
		return row
	}
	switch {
	case r.ReplayPaused && r.Streaming:
		row.Streaming, row.StreamClass = "streaming, replay paused", "warn-t"
	case r.ReplayPaused:
		row.Streaming, row.StreamClass = "not streaming, replay paused", "bad-t"
	case r.Streaming:
		row.Streaming, row.StreamClass = "streaming", "ok-t"
	default:
		row.Streaming, row.StreamClass = "not streaming", "bad-t"
	}
	row.ReplayLagTime = seconds(r.ReplayLagSeconds)
	if r.HasPrimary {
		row.ReceiveLag, row.ReplayLag = iec(float64(r.ReceiveLagBytes)), iec(float64(r.ReplayLagBytes))
	}
	if r.HasHeadroom {
		row.Headroom = iec(r.HeadroomBytes)
		row.Lost = "no"
		if r.WALLost {
			row.Lost = "yes: rebuild or restore from the archive"
		}
	}
	if r.HasETA {
		row.ETA = seconds(r.ETASeconds)
		if math.IsInf(r.ETASeconds, 1) {
			row.ETA = "never (gap not growing)"
		}
		switch {
		case r.ETASeconds < 600:
			row.ETAClass = "bad-t"
			if row.Class == "" {
				row.Class = "bad"
			}
		case r.ETASeconds < 3600:
			row.ETAClass = "warn-t"
			if row.Class == "" {
				row.Class = "warn"
			}
		}
	}
	return row
}

func newOriginRow(o view.Origin) originRow {
	row := originRow{Name: o.Name, CDN: o.CDN, LastPass: stamp(o.LastPass), LastError: o.LastError,
		Pending: o.Pending, Authoritative: o.Authoritative, Overdue: o.Overdue}
	switch {
	case !o.Probed:
		row.Answering = "not asked yet"
	case o.Up:
		row.Answering = "yes"
	default:
		row.Answering, row.Class = "no", "bad"
	}
	if o.Overdue > 0 {
		row.Class = "bad"
	} else if o.Pending > 0 && row.Class == "" {
		row.Class = "warn"
	}
	return row
}

func newSourceRow(s view.Source) sourceRow {
	row := sourceRow{Name: s.Name, Type: s.Type, Position: s.Position, Lag: s.Lag, LastSuccess: stamp(s.LastSuccess), Error: s.Error}
	switch {
	case !s.Probed:
		row.UpText = "not read yet"
	case s.Up:
		row.UpText = "up"
	default:
		row.UpText, row.Class = "down", "bad"
	}
	return row
}

func stateClass(s view.State) string {
	switch s {
	case view.Overdue:
		return "bad-t"
	case view.Pending:
		return "warn-t"
	}
	return "ok-t"
}

func newCertRow(c view.Certificate, link string, now time.Time) certRow {
	w := c.Worst()
	row := certRow{Serial: c.Serial.Text(16), Link: link, State: w.String(), StateClass: stateClass(w), Kind: c.Kind,
		Issuer: c.Issuer, PublishedAt: stamp(c.PublishedAt), Provenance: c.Provenance, Age: ago(now.Sub(c.PublishedAt))}
	switch w {
	case view.Overdue:
		row.Class = "bad"
	case view.Pending:
		row.Class = "warn"
	}
	for _, o := range c.Origins {
		a := answerRow{Origin: o.Origin, Result: o.Result, Class: stateClass(o.State)}
		if a.Result == "" {
			a.Result = "not asked yet"
		}
		if !o.Since.IsZero() {
			a.Since = "since " + stamp(o.Since) + " (" + ago(now.Sub(o.Since)) + ")"
		}
		row.Origins = append(row.Origins, a)
	}
	return row
}

// ago is a duration for people: 45s, 12m30s, 5h12m, 14d3h.
func ago(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Hour:
		return d.String()
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	days := d / (24 * time.Hour)
	return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
}

func seconds(s float64) string {
	if math.IsInf(s, 1) {
		return "∞"
	}
	return ago(time.Duration(s * float64(time.Second)))
}

// iec formats bytes with binary prefixes.
func iec(b float64) string {
	if math.IsInf(b, 1) {
		return "unlimited"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// pageParam reads a positive page number; anything else is page 1.
func pageParam(q url.Values, key string) int {
	n, err := strconv.Atoi(q.Get(key))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (v incidentView) serveStatus(w http.ResponseWriter, r *http.Request) {
	page := pageParam(r.URL.Query(), "page")
	st := v.state()
	size := st.web.PageSize
	in := gatherIncident(st.components)
	ls := certListers(st.components)
	certs := certificatePage(ls, statusQuery(page, size))
	overdue := certificatePage(ls, view.CertificateQuery{States: []view.State{view.Overdue}}).Total
	d := renderStatus(in, certs, overdue, page, size, func(c view.Certificate) string { return certificateLink(st.link, c) }, time.Now())
	d.Refresh = int(st.web.Refresh.D().Seconds())
	d.ReloadAt, d.ReloadOK = stamp(st.reloadAt), st.reloadOK
	d.Targets = st.targets
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := statusTemplate.Execute(w, d); err != nil {
		v.logger.Error("rendering /status", "err", err)
	}
}

func certListers(comps []any) []view.CertificateLister {
	var ls []view.CertificateLister
	for _, c := range comps {
		if l, ok := c.(view.CertificateLister); ok {
			ls = append(ls, l)
		}
	}
	return ls
}
