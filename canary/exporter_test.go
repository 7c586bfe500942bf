package canary

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/promslog"
	"golang.org/x/crypto/ocsp"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
)

// goodOrigin answers good, signed by the CA, for whatever serial it is asked.
func goodOrigin(t *testing.T, p *testpki.PKI) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		der, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(der)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(p.Response(t, req.SerialNumber, p.CA, p.CAKey, nil))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A hung origin neither stalls another origin's checks nor any scrape, and
// shows up as timeouts. Unusable spool files are counted once by reason.
func TestHungOriginStallsNothingAndBadCertsAreCounted(t *testing.T) {
	cfg, hung := hungSetup(t)
	_, reg := startExporter(t, cfg)
	checkHungOrigin(t, reg, hung)
}

func startExporter(t *testing.T, cfg *config.Config) (*exporter.Exporter, *prometheus.Registry) {
	logger := promslog.NewNopLogger()
	exp := exporter.New(logger, NewDomain(logger, nil))
	exp.ApplyConfig(cfg)
	t.Cleanup(exp.Stop)
	return exp, exporter.NewRegistry(exp)
}

// A reload cancels calls in flight; those are not the origin's timeouts.
func TestReloadDoesNotCountCancelledChecks(t *testing.T) {
	cfg, hung := hungSetup(t)
	exp, reg := startExporter(t, cfg)
	// Reload while a request to the hung origin is in flight and at least
	// one earlier one has timed out.
	waitFor(t, func() bool { return gatherResult(t, reg, "hung", "timeout") >= 1 && hung.inFlight() })
	before := gatherResult(t, reg, "hung", "timeout")
	exp.ApplyConfig(cfg)
	if after := gatherResult(t, reg, "hung", "timeout"); after != before {
		t.Errorf("hung timeouts went from %v to %v across a reload: a cancelled check was counted", before, after)
	}
}

func gatherResult(t *testing.T, reg *prometheus.Registry, origin, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return countResult(mfs, origin, result)
}

// hungServer holds every request until the test ends; it numbers them and
// knows whether one is in flight.
type hungServer struct {
	seq, active atomic.Int64
}

func (h *hungServer) inFlight() bool { return h.active.Load() > 0 }

// current is the number of the request in flight, 0 if none.
func (h *hungServer) current() int64 {
	if !h.inFlight() {
		return 0
	}
	return h.seq.Load()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hungSetup: a spool of 3 usable and 2 unusable certificates, a hung origin
// (300ms timeout, one request at a time) and a good one.
func hungSetup(t *testing.T) (*config.Config, *hungServer) {
	p := testpki.New(t)
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	issuerPath := filepath.Join(dir, "issuer.pem")
	if err := os.WriteFile(issuerPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 3; i++ {
		if err := os.WriteFile(filepath.Join(spool, fmt.Sprintf("%d.der", i)), p.Leaf(t, i, i == 3), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Two that cannot be used: counted with their reason, the rest go on.
	other := testpki.New(t)
	if err := os.WriteFile(filepath.Join(spool, "other-ca.der"), other.Leaf(t, 9, false), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spool, "broken.pem"), []byte("-----BEGIN CERTIFICATE-----\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	h := &hungServer{}
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.seq.Add(1)
		h.active.Add(1)
		defer h.active.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hung.Close() })
	good := goodOrigin(t, p)

	cfgPath := filepath.Join(dir, "certstatus.yml")
	yml := fmt.Sprintf(`ocsp:
  interval: 1s
  timeout: 300ms
  issuers: [%s]
  sources: [{name: spool, type: dir, path: %s}]
  origins:
    - {name: hung, url: %q, method: POST, concurrency: 1, compliance: false}
    - {name: fast, url: %q, method: POST}
`, issuerPath, spool, hung.URL, good.URL)
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, h
}

// checkHungOrigin: the fast origin gets every certificate authoritative
// while the hung one times out, and scrapes return while a request to the
// hung origin is still hanging (a scrape that waited on it could not).
func checkHungOrigin(t *testing.T, reg *prometheus.Registry, hung *hungServer) {
	deadline := time.Now().Add(30 * time.Second)
	returnedDuringHang := 0
	for {
		during := hung.current()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if during != 0 && hung.current() == during {
			returnedDuringHang++
		}
		if countState(mfs, "fast", "authoritative") == 3 && countResult(mfs, "hung", "timeout") >= 2 && returnedDuringHang > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: fast authoritative %v, hung timeouts %v, scrapes returned during a hang %d; want 3, >= 2, > 0",
				countState(mfs, "fast", "authoritative"), countResult(mfs, "hung", "timeout"), returnedDuringHang)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP certstatus_certificate_source_errors_total Certificates or reads this source could not use, by reason.
# TYPE certstatus_certificate_source_errors_total counter
certstatus_certificate_source_errors_total{reason="fetch",source="spool"} 0
certstatus_certificate_source_errors_total{reason="unknown_issuer",source="spool"} 1
certstatus_certificate_source_errors_total{reason="unparseable",source="spool"} 1
# HELP certstatus_certificates_discovered_total Certificates this source found for the first time, by kind.
# TYPE certstatus_certificates_discovered_total counter
certstatus_certificates_discovered_total{kind="certificate",source="spool"} 2
certstatus_certificates_discovered_total{kind="precertificate",source="spool"} 1
`), "certstatus_certificate_source_errors_total", "certstatus_certificates_discovered_total"); err != nil {
		t.Error(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP certstatus_ocsp_origin_up Whether the origin's last answer was an OCSP response of any status.
# TYPE certstatus_ocsp_origin_up gauge
certstatus_ocsp_origin_up{origin="fast"} 1
certstatus_ocsp_origin_up{origin="hung"} 0
`), "certstatus_ocsp_origin_up"); err != nil {
		t.Error(err)
	}
	// Three certificates are far within the default recheck budget.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP certstatus_ocsp_recheck_backlog_seconds How late the most overdue recheck at this origin was when its recheck budget ran out in the last pass (0: none waited).
# TYPE certstatus_ocsp_recheck_backlog_seconds gauge
certstatus_ocsp_recheck_backlog_seconds{origin="fast"} 0
certstatus_ocsp_recheck_backlog_seconds{origin="hung"} 0
`), "certstatus_ocsp_recheck_backlog_seconds"); err != nil {
		t.Error(err)
	}
}

func countState(mfs []*dto.MetricFamily, origin, state string) float64 {
	v, _ := metrictest.Sample(mfs, "certstatus_ocsp_certificates", "origin", origin, "state", state)
	return v
}

func countResult(mfs []*dto.MetricFamily, origin, result string) float64 {
	v, _ := metrictest.Sample(mfs, "certstatus_ocsp_responses_total", "origin", origin, "result", result)
	return v
}
