package exporter

import (
	"embed"
	"html/template"
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
// so a certificate's issuer or an error text cannot inject markup, and a
// link template that renders a javascript: URL is neutralised.
var statusTemplate = template.Must(template.ParseFS(webFS, "web/status.html"))

type statusData struct {
	Refresh  int
	Now      string
	Trouble  string
	ReloadAt string
	ReloadOK bool
	Replicas []replicaRow
	Origins  []originRow
	Sources  []sourceRow
	Missing  certSection // in a CT log, missing from the CA's inventory
	Overdue  certSection
	Pending  certSection
	Targets  []targetRow
}

// certSection is one paginated list of certificates in one state.
type certSection struct {
	State            string // the state listed
	Rows             []certRow
	Total            int
	Page, Pages      int
	PrevURL, NextURL string
}

// sectionMissing is the section (and anchor) of certificates in a CT log but
// missing from the CA's inventory.
const sectionMissing = "missing-from-inventory"

// sectionParams are the page parameters of the certificate sections.
func sectionParams() []string { return []string{"page", "pending_page", "inventory_page"} }

func newSection(state, param string, rows []view.Certificate, total, page, size int, q url.Values, link func(view.Certificate) string, now time.Time) certSection {
	s := certSection{State: state, Total: total, Page: page, Pages: max(1, (total+size-1)/size)}
	at := func(p int) string {
		v := url.Values{}
		for _, k := range sectionParams() {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set(param, strconv.Itoa(p))
		return "?" + v.Encode() + "#" + state
	}
	if page > 1 {
		s.PrevURL = at(page - 1)
	}
	if page < s.Pages {
		s.NextURL = at(page + 1)
	}
	for _, c := range rows {
		s.Rows = append(s.Rows, newCertRow(c, link(c), now))
	}
	return s
}

// summary is the one line an on-call reads first.
func summary(overdue, missing int, replicas []replicaRow) string {
	var trouble []string
	if overdue > 0 {
		trouble = append(trouble, plural(overdue, "overdue certificate"))
	}
	if missing > 0 {
		trouble = append(trouble, plural(missing, "certificate")+" missing from the CA's inventory")
	}
	bad := 0
	for _, r := range replicas {
		if r.Class != "" {
			bad++
		}
	}
	if bad > 0 {
		trouble = append(trouble, plural(bad, "replica")+" in trouble")
	}
	return strings.Join(trouble, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// maxPage bounds page numbers so that an offset cannot overflow.
const maxPage = 1_000_000

// pageParam reads a page number in 1..maxPage; anything else is page 1.
func pageParam(q url.Values, key string) int {
	n, err := strconv.Atoi(q.Get(key))
	if err != nil || n < 1 || n > maxPage {
		return 1
	}
	return n
}

func (v incidentView) serveStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := v.state()
	now := time.Now()
	size := st.web.PageSize
	in := gatherIncident(st.components)
	ls := certListers(st.components)
	link := func(c view.Certificate) string { return certificateLink(st.link, c) }
	d := statusData{Refresh: int(st.web.Refresh.D().Seconds()), Now: stamp(now),
		ReloadAt: stamp(st.reloadAt), ReloadOK: st.reloadOK, Targets: targetRows(st.targets)}
	for i, state := range []string{view.StateOverdue, view.StatePending} {
		param := sectionParams()[i]
		page := pageParam(q, param)
		rows, total := certificatePage(ls, view.CertificateQuery{State: state, Offset: (page - 1) * size, Limit: size})
		sec := newSection(state, param, rows, total, page, size, q, link, now)
		if state == view.StateOverdue {
			d.Overdue = sec
		} else {
			d.Pending = sec
		}
	}
	page := pageParam(q, "inventory_page")
	rows, total := certificatePage(ls, view.CertificateQuery{MissingFromInventory: true, Offset: (page - 1) * size, Limit: size})
	d.Missing = newSection(sectionMissing, "inventory_page", rows, total, page, size, q, link, now)
	for _, r := range in.Replicas {
		d.Replicas = append(d.Replicas, newReplicaRow(r))
	}
	for _, o := range in.Origins {
		d.Origins = append(d.Origins, newOriginRow(o))
	}
	for _, s := range in.Sources {
		d.Sources = append(d.Sources, newSourceRow(s))
	}
	d.Trouble = summary(d.Overdue.Total, d.Missing.Total, d.Replicas)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page has no script: forbid any, and any load but its inline style.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := statusTemplate.Execute(w, d); err != nil {
		v.logger.Error("rendering /status", "err", err)
	}
}
