package exporter

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/view"
)

// listed is a component that offers fixed incident data, as a domain's
// component would from its snapshots.
type listed struct {
	replicas []view.Replica
	origins  []view.Origin
	sources  []view.Source
	certs    []view.Certificate
}

func (l listed) Replicas() []view.Replica { return l.replicas }
func (l listed) Origins() []view.Origin   { return l.origins }
func (l listed) Sources() []view.Source   { return l.sources }
func (l listed) Certificates(q view.CertificateQuery) ([]view.Certificate, int) {
	var m []view.Certificate
	for _, c := range l.certs {
		if q.MissingFromInventory && !c.MissingFromInventory {
			continue
		}
		for _, o := range c.Origins {
			if q.State == "" || o.State == q.State {
				m = append(m, c)
				break
			}
		}
	}
	lo, hi := min(q.Offset, len(m)), min(q.Offset+q.Limit, len(m))
	return m[lo:hi], len(m)
}

var at = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func fixture() listed {
	cert := func(serial string, published time.Time, states ...string) view.Certificate {
		c := view.Certificate{Serial: serial, Kind: "certificate", Issuer: "CN=Lab <Issuing> CA",
			PublishedAt: published, Provenance: "issued_at"}
		for i, s := range states {
			res := "good"
			if s != view.StateAuthoritative {
				res = "unknown"
			}
			c.Origins = append(c.Origins, view.OriginAnswer{Origin: []string{"origin-1", "origin-2"}[i], State: s,
				Result: res, Since: published.Add(time.Minute), Asked: at})
		}
		return c
	}
	f := func(v float64) *float64 { return &v }
	return listed{
		replicas: []view.Replica{
			{Name: "replica-ok", Up: true, Streaming: true, ReceiveLagBytes: f(0), ReplayLagBytes: f(0), HeadroomBytes: f(1 << 30),
				LossETASecs: f(math.Inf(1))},
			{Name: "replica-paused", Up: true, Streaming: true, ReplayPaused: true, ReceiveLagBytes: f(0), ReplayLagBytes: f(48 << 20),
				ReplayLagSecs: 95, HeadroomBytes: f(16 << 20), LossETASecs: f(420)},
			{Name: "replica-down", LastError: "dial tcp 127.0.0.1:5433: connect: connection refused (postgres://monitor:hunter2@db/x)"},
		},
		origins: []view.Origin{
			{Name: "origin-2", Probed: true, Up: true, Authoritative: 3},
			{Name: "origin-1", Probed: true, Up: true, Overdue: 1, Pending: 1, Authoritative: 1, LastError: "unknown serial"},
		},
		sources: []view.Source{{Name: "certdb", Type: "sql", Probed: true, Up: true, LastSuccess: at}},
		certs: []view.Certificate{
			cert("feed01", at.Add(-40*time.Minute), view.StateOverdue, view.StateAuthoritative),
			cert("feed05", at.Add(-30*time.Minute), view.StateOverdue, view.StateOverdue),
			cert("beef02", at.Add(-5*time.Minute), view.StatePending, view.StateAuthoritative),
			cert("cafe03", at.Add(-time.Hour), view.StateAuthoritative, view.StateAuthoritative),
		},
	}
}

func serve(t *testing.T, l listed, cfg config.Web, path string) (int, string) {
	t.Helper()
	link, err := config.ParseCertificateLink(cfg.CertificateLink)
	if err != nil {
		t.Fatal(err)
	}
	v := incidentView{logger: slog.New(slog.DiscardHandler), state: func() viewState {
		return viewState{components: []any{l}, web: cfg, link: link, reloadAt: at, reloadOK: true}
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("/status", v.serveStatus)
	mux.HandleFunc("GET /api/v1/certificates", v.serveAPICertificates)
	mux.HandleFunc("GET /api/v1/replicas", v.serveAPIReplicas)
	h := mux
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

var webCfg = config.Web{CertificateLink: "https://crt.sh/?serial={{.Serial}}", Refresh: config.Duration(15 * time.Second), PageSize: 1}

// A certificate in CT but missing from the CA's inventory (seed 002) gets
// its own section, first, and the API filter; without one there is none.
func TestStatusPageListsCertificatesMissingFromTheInventory(t *testing.T) {
	l := fixture()
	if _, body := serve(t, l, webCfg, "/status"); strings.Contains(body, `id="missing-from-inventory"`) {
		t.Error("a missing-from-inventory section with nothing missing")
	}
	l.certs[1].MissingFromInventory, l.certs[1].CTSource = true, "ct-log-a"
	_, body := serve(t, l, webCfg, "/status")
	for _, want := range []string{`1 certificate missing from the CA`, `id="missing-from-inventory"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %s", want)
		}
	}
	inOrder(t, body, `id="missing-from-inventory"`, `data-serial="feed05"`, `id="overdue"`)
	code, api := serve(t, l, webCfg, "/api/v1/certificates?inventory=missing")
	if code != http.StatusOK || !strings.Contains(api, `"serial": "feed05"`) || !strings.Contains(api, `"ct_source": "ct-log-a"`) || strings.Contains(api, "feed01") {
		t.Errorf("API ?inventory=missing: %d %s", code, api)
	}
	if code, _ := serve(t, l, webCfg, "/api/v1/certificates?inventory=yes"); code != http.StatusBadRequest {
		t.Errorf("?inventory=yes: %d, want 400", code)
	}
}

func TestStatusPageShowsTheIncidentWorstFirst(t *testing.T) {
	code, body := serve(t, fixture(), webCfg, "/status")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<meta http-equiv="refresh" content="15">`,
		`<b>2 overdue certificates, 2 replicas in trouble</b>`,
		`data-serial="feed01" data-state="overdue"`,
		`<a href="https://crt.sh/?serial=feed01" rel="noreferrer">feed01</a>`,
		`CN=Lab &lt;Issuing&gt; CA`, // escaped, not markup
		`streaming, replay paused`,
		`page 1 of 2`, `<a href="?page=2#overdue">next →</a>`,
		`data-serial="beef02" data-state="pending"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %s", want)
		}
	}
	// Worst first: the down replica, then the paused one, then the healthy one;
	// origin-1 (overdue) before origin-2; overdue before pending; page 1 of
	// the overdue list holds one certificate, and no authoritative one shows.
	inOrder(t, body, `data-replica="replica-down"`, `data-replica="replica-paused"`, `data-replica="replica-ok"`)
	inOrder(t, body, `<tr class="bad" data-origin="origin-1"`, `data-origin="origin-2"`)
	inOrder(t, body, `id="overdue"`, `data-serial="feed01"`, `id="pending"`, `data-serial="beef02"`)
	if strings.Contains(body, "feed05") || strings.Contains(body, "cafe03") {
		t.Error("page 1 of size 1 shows more than one overdue certificate, or an authoritative one")
	}
	if strings.Contains(body, "hunter2") {
		t.Error("/status shows a DSN password")
	}
	_, page2 := serve(t, fixture(), webCfg, "/status?page=2")
	if !strings.Contains(page2, `data-serial="feed05"`) || !strings.Contains(page2, `<a href="?page=1#overdue">← previous</a>`) {
		t.Error("page 2 does not show the second overdue certificate with a link back")
	}
}

func TestStatusPageWithNothingWrong(t *testing.T) {
	_, body := serve(t, listed{}, config.Web{Refresh: config.Duration(time.Minute), PageSize: 10}, "/status")
	for _, want := range []string{"No overdue certificate, every replica streaming.", "<p>None.</p>"} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
}

func inOrder(t *testing.T, body string, parts ...string) {
	t.Helper()
	last := -1
	for _, p := range parts {
		i := strings.Index(body, p)
		if i < 0 || i < last {
			t.Errorf("%s missing or out of order in %v", p, parts)
			return
		}
		last = i
	}
}

func TestAPICertificates(t *testing.T) {
	code, body := serve(t, fixture(), webCfg, "/api/v1/certificates?state=overdue")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got apiCertificatesJSON
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 2 || len(got.Certificates) != 2 {
		t.Fatalf("overdue: %s", body)
	}
	c := got.Certificates[0]
	if c.Serial != "feed01" || c.State != "overdue" || c.Link != "https://crt.sh/?serial=feed01" || c.Provenance != "issued_at" ||
		!c.PublishedAt.Equal(at.Add(-40*time.Minute)) || len(c.Origins) != 2 || c.Origins[0].Result != "unknown" ||
		c.Origins[0].State != "overdue" || c.Origins[0].Since == nil || c.AgeSeconds <= 0 {
		t.Errorf("certificate = %+v", c)
	}
	_, body = serve(t, fixture(), webCfg, "/api/v1/certificates?state=authoritative&per_page=1&page=2")
	json.Unmarshal([]byte(body), &got)
	if got.Total != 3 || len(got.Certificates) != 1 || got.Certificates[0].Serial != "beef02" || got.Page != 2 || got.PerPage != 1 {
		t.Errorf("authoritative page 2: %s", body)
	}
	for _, bad := range []string{"state=late", "page=0", "per_page=100000", "page=x", "page=9223372036854775807"} {
		code, body := serve(t, fixture(), webCfg, "/api/v1/certificates?"+bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}

type apiCertificatesJSON struct {
	Page, Total  int
	PerPage      int `json:"per_page"`
	Certificates []struct {
		Serial, State, Kind, Issuer, Provenance, Link string
		PublishedAt                                   time.Time `json:"published_at"`
		AgeSeconds                                    float64   `json:"age_seconds"`
		Origins                                       []struct {
			Origin, State, Result string
			Since                 *time.Time
		}
	}
}

func TestAPIReplicas(t *testing.T) {
	_, body := serve(t, fixture(), webCfg, "/api/v1/replicas")
	var got struct {
		Replicas []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(got.Replicas) != 3 {
		t.Fatalf("replicas: %s", body)
	}
	down, paused, ok := got.Replicas[0], got.Replicas[1], got.Replicas[2]
	if down["name"] != "replica-down" || down["up"] != false || down["streaming"] != nil {
		t.Errorf("down replica = %v", down)
	}
	if strings.Contains(body, "hunter2") {
		t.Error("API shows a DSN password")
	}
	if paused["name"] != "replica-paused" || paused["replay_paused"] != true || paused["wal_loss_eta_seconds"] != 420.0 ||
		paused["replay_lag_bytes"] != float64(48<<20) {
		t.Errorf("paused replica = %v", paused)
	}
	if ok["wal_loss_eta_seconds"] != "+Inf" {
		t.Errorf("a replica whose gap does not grow: eta %v, want \"+Inf\"", ok["wal_loss_eta_seconds"])
	}
}

// The page runs no script and loads nothing; absurd page numbers are page 1.
func TestStatusPageHeadersAndPageBounds(t *testing.T) {
	v := incidentView{logger: slog.New(slog.DiscardHandler), state: func() viewState {
		return viewState{components: []any{fixture()}, web: webCfg}
	}}
	rec := httptest.NewRecorder()
	v.serveStatus(rec, httptest.NewRequest(http.MethodGet, "/status?page=9223372036854775807&pending_page=-3", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP = %q", csp)
	}
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `data-serial="feed01"`) || !strings.Contains(body, "page 1 of 2") {
		t.Errorf("out-of-range page: %d, want page 1 shown", rec.Code)
	}
}
