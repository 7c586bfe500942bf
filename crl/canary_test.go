package crl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
)

// crlServer serves CRL bodies by path, with an ETag, like a static origin.
type crlServer struct {
	mu      sync.Mutex
	bodies  map[string][]byte
	url     string
	anyHost bool // answer whatever the Host header
}

func newCRLServer(t *testing.T) *crlServer {
	s := &crlServer{bodies: map[string][]byte{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/"
	return s
}

func (s *crlServer) set(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies[path] = body
}

func (s *crlServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.bodies[r.URL.Path]
	anyHost := s.anyHost
	s.mu.Unlock()
	if !ok || (r.Host != "crl.example.com" && !anyHost) {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(body))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(body)
}

// fixedRecord is the CA's revocation record held in memory: the SQL source
// is exercised against the lab's PostgreSQL in integration/.
type fixedRecord struct {
	mu   sync.Mutex
	revs []Revocation
}

func (f *fixedRecord) Revocations(context.Context) ([]Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Revocation(nil), f.revs...), nil
}
func (f *fixedRecord) Close() {}

type canaryCollector struct{ c *Canary }

func (cc canaryCollector) Describe(ch chan<- *prometheus.Desc) { cc.c.metrics.Describe(ch) }
func (cc canaryCollector) Collect(ch chan<- prometheus.Metric) { cc.c.Collect(ch) }

type canaryFixture struct {
	ca     testCA
	o1, o2 *crlServer
	cdn    *crlServer
	record *fixedRecord
	canary *Canary
	reg    *prometheus.Registry
	now    time.Time
	cfg    config.CRL
}

func newCanaryFixture(t *testing.T) *canaryFixture {
	f := &canaryFixture{ca: newCA(t, "test CA", nil, nil), o1: newCRLServer(t), o2: newCRLServer(t), cdn: newCRLServer(t),
		record: &fixedRecord{}, now: testNow}
	shard := func(n int) config.Shard {
		return config.Shard{Name: fmt.Sprintf("shard-%d", n), URL: fmt.Sprintf("http://crl.example.com/%d.crl", n), IssuerCert: f.ca.Cert}
	}
	timeout := config.Duration(5 * time.Second)
	f.cfg = config.CRL{Interval: config.Duration(time.Minute), Timeout: timeout, RevocationDeadline: config.Duration(time.Hour),
		MaxSize: 1 << 20, Shards: []config.Shard{shard(0), shard(1)},
		Origins: []config.CRLOrigin{
			{Name: "origin-1", URL: f.o1.url, Host: "crl.example.com", Timeout: timeout},
			{Name: "origin-2", URL: f.o2.url, Host: "crl.example.com", Timeout: timeout},
			{Name: "cdn", URL: f.cdn.url, Host: "crl.example.com", CDN: true, Timeout: timeout},
		}}
	f.canary = NewCanary(f.cfg, Options{Source: f.record, Now: func() time.Time { return f.now }})
	f.reg = newRegistry(f.canary)
	return f
}

func newRegistry(c *Canary) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(canaryCollector{c})
	return reg
}

// publish renders both shards with number n at thisUpdate, listing revs
// (each on the shard its serial's parity picks), on the given servers.
func (f *canaryFixture) publish(t *testing.T, n int64, thisUpdate time.Time, revs []Revocation, to ...*crlServer) {
	for s := range 2 {
		ext, err := IDPExtension(fmt.Sprintf("http://crl.example.com/%d.crl", s))
		if err != nil {
			t.Fatal(err)
		}
		var entries []x509.RevocationListEntry
		for _, r := range revs {
			if int(r.Serial.Int64()%2) == s {
				entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.RevokedAt, ReasonCode: r.Reason})
			}
		}
		body := f.ca.sign(t, func(rl *x509.RevocationList) {
			rl.Number, rl.ThisUpdate, rl.NextUpdate = big.NewInt(n), thisUpdate, thisUpdate.Add(7*24*time.Hour)
			rl.RevokedCertificateEntries, rl.ExtraExtensions = entries, []pkix.Extension{ext}
		})
		for _, srv := range to {
			srv.set(fmt.Sprintf("/%d.crl", s), body)
		}
	}
}

func (f *canaryFixture) pass(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.canary.Pass(ctx)
}

func (f *canaryFixture) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := metrictest.Sample(mfs, name, labels...)
	if !ok {
		t.Fatalf("%s%v absent", name, labels)
	}
	return v
}

func TestCanaryRevocationStates(t *testing.T) {
	f := newCanaryFixture(t)
	old := Revocation{Serial: big.NewInt(10), RevokedAt: testNow.Add(-5 * time.Hour), Reason: 1}
	// An expired certificate's revocation may leave the CRLs: in no state.
	expired := Revocation{Serial: big.NewInt(12), RevokedAt: testNow.Add(-9 * time.Hour), Expiry: testNow.Add(-time.Hour)}
	f.record.revs = []Revocation{old, expired}
	f.publish(t, 1, testNow.Add(-4*time.Hour), []Revocation{old}, f.o1, f.o2, f.cdn)
	f.pass(t)
	for _, o := range []string{"origin-1", "origin-2", "cdn"} {
		for _, s := range []string{"shard-0", "shard-1"} {
			if v := f.value(t, "certstatus_crl_up", "shard", s, "origin", o); v != 1 {
				t.Errorf("crl_up{%s,%s} = %v", s, o, v)
			}
		}
		if v := f.value(t, "certstatus_crl_revocations", "origin", o, "state", "listed"); v != 1 {
			t.Errorf("%s listed = %v", o, v)
		}
		if v := f.value(t, "certstatus_crl_revocations", "origin", o, "state", "overdue"); v != 0 {
			t.Errorf("%s overdue = %v (an expired certificate's revocation)", o, v)
		}
	}
	if v := f.value(t, "certstatus_crl_number", "shard", "shard-0", "origin", "origin-1"); v != 1 {
		t.Errorf("crl_number = %v", v)
	}

	// A new revocation: origin-2 publishes it, origin-1 (its replica paused)
	// does not, the CDN still has the old copy.
	fresh := Revocation{Serial: big.NewInt(11), RevokedAt: testNow.Add(-10 * time.Minute), Reason: 4}
	f.record.revs = append(f.record.revs, fresh)
	f.publish(t, 2, testNow.Add(-5*time.Minute), []Revocation{old, fresh}, f.o2)
	f.pass(t)
	for o, want := range map[string]float64{"origin-1": 1, "origin-2": 0, "cdn": 1} {
		if v := f.value(t, "certstatus_crl_revocations", "origin", o, "state", "pending"); v != want {
			t.Errorf("%s pending = %v, want %v", o, v, want)
		}
	}
	if v := f.value(t, "certstatus_crl_cdn_lag_seconds", "shard", "shard-1", "origin", "cdn"); v != (4*time.Hour - 5*time.Minute).Seconds() {
		t.Errorf("cdn lag = %v", v)
	}
	for _, field := range []string{"number", "this_update", "hash"} {
		if v := f.value(t, "certstatus_crl_cdn_disagreement", "shard", "shard-1", "origin", "cdn", "field", field); v != 1 {
			t.Errorf("cdn disagreement %s = %v", field, v)
		}
	}

	// Past the deadline origin-1 is overdue; the status lists the serial.
	f.now = testNow.Add(time.Hour)
	f.publish(t, 2, testNow.Add(-5*time.Minute), []Revocation{old, fresh}, f.cdn)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_revocations", "origin", "origin-1", "state", "overdue"); v != 1 {
		t.Errorf("origin-1 overdue = %v", v)
	}
	if v := f.value(t, "certstatus_crl_revocations", "origin", "cdn", "state", "listed"); v != 2 {
		t.Errorf("cdn listed = %v", v)
	}
	if v := f.value(t, "certstatus_crl_cdn_disagreement", "shard", "shard-1", "origin", "cdn", "field", "hash"); v != 0 {
		t.Errorf("cdn still disagrees: %v", v)
	}
	un := f.canary.Overdue()
	if len(un) != 1 || un[0].Origin != "origin-1" || un[0].Serial.Int64() != 11 || un[0].State != StateOverdue {
		t.Errorf("overdue = %+v", un)
	}

	// origin-1 catches up, and its unchanged second fetch is a 304.
	f.publish(t, 2, testNow.Add(-5*time.Minute), []Revocation{old, fresh}, f.o1)
	f.pass(t)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_revocations", "origin", "origin-1", "state", "listed"); v != 2 {
		t.Errorf("origin-1 listed = %v", v)
	}
	if v := f.value(t, "certstatus_crl_checks_total", "shard", "shard-0", "origin", "origin-1", "result", "ok"); v != 5 {
		t.Errorf("ok checks = %v, want 5", v)
	}
}

func TestCanaryFaults(t *testing.T) {
	f := newCanaryFixture(t)
	r := Revocation{Serial: big.NewInt(10), RevokedAt: testNow.Add(-5 * time.Hour), Reason: 1}
	f.record.revs = []Revocation{r}
	f.publish(t, 7, testNow.Add(-time.Hour), []Revocation{r}, f.o1, f.o2, f.cdn)
	f.pass(t)
	// origin-2 goes back to an older CRL that drops the revocation; the CDN
	// loses shard-1 (404).
	f.publish(t, 6, testNow.Add(-2*time.Hour), nil, f.o2)
	f.cdn.mu.Lock()
	delete(f.cdn.bodies, "/1.crl")
	f.cdn.mu.Unlock()
	f.pass(t)
	if v := f.value(t, "certstatus_crl_checks_total", "shard", "shard-0", "origin", "origin-2", "result", "number_backwards"); v != 1 {
		t.Errorf("number_backwards = %v", v)
	}
	if v := f.value(t, "certstatus_crl_up", "shard", "shard-0", "origin", "origin-2"); v != 0 {
		t.Errorf("crl_up after going backwards = %v", v)
	}
	if v := f.value(t, "certstatus_crl_early_removals_total", "origin", "origin-2"); v != 1 {
		t.Errorf("early removals = %v", v)
	}
	if v := f.value(t, "certstatus_crl_checks_total", "shard", "shard-1", "origin", "cdn", "result", "http_status"); v != 1 {
		t.Errorf("cdn http_status = %v", v)
	}
	// The mark did not move back: the next pass still reports it.
	f.pass(t)
	if v := f.value(t, "certstatus_crl_checks_total", "shard", "shard-0", "origin", "origin-2", "result", "number_backwards"); v != 2 {
		t.Errorf("number_backwards after a 304 = %v", v)
	}
	if got := f.canary.marks.Mark("shard-0", "origin-2").Number.Int64(); got != 7 {
		t.Errorf("mark = %d", got)
	}
}

func TestCanaryDuplicateSerial(t *testing.T) {
	f := newCanaryFixture(t)
	f.publish(t, 1, testNow.Add(-time.Hour), nil, f.o1, f.o2, f.cdn)
	// serial 12 on both shards at origin-1
	for s := range 2 {
		ext, _ := IDPExtension(fmt.Sprintf("http://crl.example.com/%d.crl", s))
		f.o1.set(fmt.Sprintf("/%d.crl", s), f.ca.sign(t, func(rl *x509.RevocationList) {
			rl.ExtraExtensions = []pkix.Extension{ext}
			rl.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: big.NewInt(12), RevocationTime: testNow.Add(-time.Hour)}}
		}))
	}
	f.pass(t)
	if v := f.value(t, "certstatus_crl_duplicate_serials", "origin", "origin-1"); v != 1 {
		t.Errorf("duplicates at origin-1 = %v", v)
	}
	if v := f.value(t, "certstatus_crl_duplicate_serials", "origin", "origin-2"); v != 0 {
		t.Errorf("duplicates at origin-2 = %v", v)
	}
}

func TestRequestURL(t *testing.T) {
	s := config.Shard{URL: "http://crl.example.com/shards/3.crl?x=1"}
	for base, want := range map[string]string{
		"http://127.0.0.1:8080/":     "http://127.0.0.1:8080/shards/3.crl?x=1",
		"http://127.0.0.1:8080/pub/": "http://127.0.0.1:8080/pub/shards/3.crl?x=1",
	} {
		if got := RequestURL(config.CRLOrigin{URL: base}, s); got != want {
			t.Errorf("RequestURL(%s) = %s", base, got)
		}
	}
	if h := requestHost(config.CRLOrigin{URL: "http://127.0.0.1/"}, s); h != "crl.example.com" {
		t.Errorf("host = %s", h)
	}
}

// After a failed fetch, a 304 for the body checked before gets that body's
// verdict, not the failure's.
func TestCanaryNotModifiedAfterFailure(t *testing.T) {
	f := newCanaryFixture(t)
	f.publish(t, 3, testNow.Add(-time.Hour), nil, f.o1, f.o2, f.cdn)
	f.pass(t)
	f.o1.mu.Lock()
	body := f.o1.bodies["/0.crl"]
	delete(f.o1.bodies, "/0.crl")
	f.o1.mu.Unlock()
	f.pass(t)
	if v := f.value(t, "certstatus_crl_up", "shard", "shard-0", "origin", "origin-1"); v != 0 {
		t.Fatalf("crl_up during the 404 = %v", v)
	}
	f.o1.set("/0.crl", body)
	f.now = testNow.Add(time.Minute)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_up", "shard", "shard-0", "origin", "origin-1"); v != 1 {
		t.Errorf("crl_up after the 304 = %v", v)
	}
	// Past nextUpdate, the unchanged body is expired.
	f.now = testNow.Add(8 * 24 * time.Hour)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_checks_total", "shard", "shard-0", "origin", "origin-1", "result", "expired"); v != 1 {
		t.Errorf("expired checks = %v", v)
	}
}

// A revocation going overdue, and a failing check, are logged once each,
// not at every pass.
func TestCanaryLogsTransitionsOnce(t *testing.T) {
	f := newCanaryFixture(t)
	var buf bytes.Buffer
	f.canary = NewCanary(f.cfg, Options{Source: f.record, Now: func() time.Time { return f.now },
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	f.reg = newRegistry(f.canary)
	f.record.revs = []Revocation{{Serial: big.NewInt(0xabc), RevokedAt: testNow.Add(-2 * time.Hour)}}
	f.publish(t, 1, testNow.Add(-time.Hour), nil, f.o1, f.o2, f.cdn)
	f.o1.mu.Lock()
	delete(f.o1.bodies, "/1.crl")
	f.o1.mu.Unlock()
	for range 3 {
		f.pass(t)
	}
	out := buf.String()
	if n := strings.Count(out, "revocation not on the CRLs after the deadline"); n != 3 {
		t.Errorf("%d overdue lines, want one per origin:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="CRL check failed" shard=shard-1 origin=origin-1 result=http_status`); n != 1 {
		t.Errorf("%d failure lines:\n%s", n, out)
	}
	if !strings.Contains(out, "serial=abc") {
		t.Errorf("serial not logged in hex:\n%s", out)
	}
}
