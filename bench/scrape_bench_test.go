package bench

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/store"
)

// scrapeCerts is how many certificates each origin has answered for: enough
// for every per-origin series (the thisUpdate/nextUpdate extremes, every
// compliance check) to exist.
const scrapeCerts = 8

// scrapeSetup is one exporter, built as main.go builds it (every domain, the
// store, exporter.NewRegistry, exporter.Handler), whose components have run
// their loops until every per-origin and per-replica series exists; its loops
// then sleep (1 h intervals), so nothing but the scrapes runs while measured.
type scrapeSetup struct {
	name    string
	handler http.Handler
	series  int
	// perOrigin: series that carry origin="origin-1".
	perOrigin int
}

// BenchmarkScrape: the full /metrics handler (promhttp as served, text
// format, no gzip) at 18 replicas × 128 OCSP origins and at 1 × 1, scraped
// alternately in the same run. Reports p50 and p99 of each, their ratio, and
// the series count. One op is one scrape of each.
//
// The OCSP origins answer good for every request (an in-process responder
// shared by all origins, signed by a test CA); the primary and the replicas
// point at a closed loopback port, so they are down: their series are those
// of a failing target (up, duration, failures by reason), not a streaming
// replica's lag and headroom gauges (see bench/README.md).
func BenchmarkScrape(b *testing.B) {
	p := testpki.New(b)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := testpki.ParseOCSPRequest(r)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(p.Response(b, req.SerialNumber, p.CA, p.CAKey, nil))
	}))
	defer origin.Close()

	small := newScrapeSetup(b, p, origin.URL, 1, 1)
	big := newScrapeSetup(b, p, origin.URL, 18, 128)

	var ds, db, cs, cb []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		d, c := scrapeOnce(b, small.handler)
		ds, cs = append(ds, d), append(cs, c)
		d, c = scrapeOnce(b, big.handler)
		db, cb = append(db, d), append(cb, c)
	}
	b.StopTimer()
	s50, s99 := percentiles(ds)
	b50, b99 := percentiles(db)
	sc50, _ := percentiles(cs)
	bc50, _ := percentiles(cb)
	b.ReportMetric(ms(bc50), "cpu-p50-ms")
	b.ReportMetric(ms(sc50), "1x1-cpu-p50-ms")
	b.ReportMetric(ms(b50), "p50-ms")
	b.ReportMetric(ms(b99), "p99-ms")
	b.ReportMetric(ms(s50), "1x1-p50-ms")
	b.ReportMetric(ms(s99), "1x1-p99-ms")
	b.ReportMetric(float64(b50)/float64(s50), "ratio-p50")
	b.ReportMetric(float64(big.series), "series")
	b.ReportMetric(float64(big.perOrigin), "series/origin")
	b.ReportMetric(float64(small.series), "1x1-series")
}

// percentiles are the nearest-rank p50 and p99 of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return rank(0.50), rank(0.99)
}

// scrapeOnce serves one /metrics request; it returns the wall time and the
// CPU time of the whole process meanwhile (every loop sleeps, so that is the
// scrape's, GC included), which a busy shared machine disturbs less.
func scrapeOnce(b *testing.B, h http.Handler) (wall, cpu time.Duration) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil) // no Accept-Encoding: no gzip
	w := httptest.NewRecorder()
	cpu0 := processCPU(b)
	start := time.Now()
	h.ServeHTTP(w, req)
	wall = time.Since(start)
	cpu = processCPU(b) - cpu0
	if w.Code != http.StatusOK {
		b.Fatalf("/metrics: %d %s", w.Code, w.Body.String())
	}
	return wall, cpu
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newScrapeSetup(b *testing.B, p *testpki.PKI, originURL string, replicas, origins int) *scrapeSetup {
	dir := b.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		b.Fatal(err)
	}
	// 8-byte serials, so the compliance checks find random serials of each shape.
	for i := int64(1); i <= scrapeCerts; i++ {
		if err := os.WriteFile(filepath.Join(spool, fmt.Sprintf("%d.der", i)), p.Leaf(b, 1<<62+i, i%2 == 0), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	issuer := filepath.Join(dir, "issuer.pem")
	if err := os.WriteFile(issuer, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw}), 0o644); err != nil {
		b.Fatal(err)
	}
	// Nothing listens on port 1: a probe fails at once (connection refused).
	const down = "postgres://monitor@127.0.0.1:1/certdb?connect_timeout=1"
	cfgFor := func(variant int) *config.Config {
		var y strings.Builder
		fmt.Fprintf(&y, "primary: {dsn: %q}\nreplication: {interval: 1h, rate_window: 3h}\nreplicas:\n", down)
		for i := 1; i <= replicas; i++ {
			fmt.Fprintf(&y, "  - {name: replica-%d, dsn: %q}\n", i, down)
		}
		// recheck_interval 1s: every pass of a new canary asks every
		// certificate again, so each origin has answered in it.
		fmt.Fprintf(&y, "ocsp:\n  interval: 1h\n  timeout: 5s\n  recheck_interval: 1s\n  sla: %dm\n  issuers: [%s]\n", 15+variant, issuer)
		fmt.Fprintf(&y, "  sources: [{name: spool, type: dir, path: %s}]\n  origins:\n", spool)
		for i := 1; i <= origins; i++ {
			fmt.Fprintf(&y, "    - {name: origin-%d, url: %q}\n", i, originURL)
		}
		path := filepath.Join(dir, fmt.Sprintf("certstatus-%d.yml", variant))
		if err := os.WriteFile(path, []byte(y.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		return cfg
	}

	logger := slog.New(slog.DiscardHandler)
	st := store.Open(filepath.Join(dir, "data"), logger)
	b.Cleanup(func() { _ = st.Close() })
	exp := exporter.New(logger, domains.All(logger, st)...)
	b.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp, st)
	h, err := exp.Handler(reg, func() error { return nil }, logger)
	if err != nil {
		b.Fatal(err)
	}
	// Each new canary starts from what the previous one tracked (through the
	// store): the first reads the spool, the second gets every certificate
	// answered everywhere, the third runs the compliance checks with
	// certificates each origin answered good.
	want := map[string]int{
		"certstatus_ocsp_tracked_certificates":                 1,
		"certstatus_ocsp_origin_up":                            origins,
		"certstatus_ocsp_oldest_this_update_timestamp_seconds": origins,
		"certstatus_ocsp_compliance_passed":                    origins * 8,
		"certstatus_replica_up":                                replicas,
		"certstatus_primary_up":                                1,
	}
	var missing string
	for variant := 0; variant < 6 && (variant == 0 || missing != ""); variant++ {
		exp.ApplyConfig(cfgFor(variant % 2))
		// Generous: 128 origins' compliance rounds on a busy 2-core machine.
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			missing = missingSeries(b, reg, want)
			if missing == "" || (variant == 0 && tracked(b, reg) == scrapeCerts) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The next canary asks every certificate again (recheck_interval).
		time.Sleep(1100 * time.Millisecond)
	}
	if missing != "" {
		b.Fatalf("%d replicas × %d origins: series still missing: %s", replicas, origins, missing)
	}
	s := &scrapeSetup{name: fmt.Sprintf("%dx%d", replicas, origins), handler: h}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s.series++
		if strings.Contains(line, `origin="origin-1"`) {
			s.perOrigin++
		}
	}
	return s
}

func gather(b *testing.B, reg *prometheus.Registry) map[string]int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := map[string]int{}
	for _, mf := range mfs {
		n[mf.GetName()] = len(mf.GetMetric())
	}
	return n
}

func tracked(b *testing.B, reg *prometheus.Registry) int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "certstatus_ocsp_tracked_certificates" {
			return int(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return 0
}

func missingSeries(b *testing.B, reg *prometheus.Registry, want map[string]int) string {
	got := gather(b, reg)
	var out []string
	for name, n := range want {
		if got[name] < n {
			out = append(out, fmt.Sprintf("%s (%d of %d)", name, got[name], n))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
