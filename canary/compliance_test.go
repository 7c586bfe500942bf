package canary

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// compliancePKI is a test PKI whose CertID part holds no "//", so that only
// the serials a test picks put "//" in a request.
func compliancePKI(t *testing.T) *testPKI {
	for range 100 {
		p := newTestPKI(t)
		der, err := p.issuer.Request(big.NewInt(1))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ocsp.Base64(der)[:60], "//") {
			return p
		}
	}
	t.Fatal("no PKI without // in its CertID")
	return nil
}

// ocspPeer is a real HTTP server decoding every OCSP request, GET in any
// encoding or POST, and answering what answer says.
func ocspPeer(t *testing.T, answer func(r *http.Request, req *xocsp.Request) (int, []byte)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := testpki.ParseOCSPRequest(r)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		status, body := answer(r, req)
		if status != http.StatusOK {
			http.Error(w, "refused", status)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// liar answers good for any serial: what BR 4.9.10 forbids.
func liar(t *testing.T, p *testPKI) *httptest.Server {
	return ocspPeer(t, func(_ *http.Request, req *xocsp.Request) (int, []byte) {
		return http.StatusOK, p.Response(t, req.SerialNumber, p.CA, p.CAKey, nil)
	})
}

// strict answers good for the issued serials and unauthorized for others,
// like cfssl; it refuses a decoded path with "//" (as Go's ServeMux does)
// and an unencoded '+' (read as a space), and knows only SHA-1 CertIDs.
func strict(t *testing.T, p *testPKI, issued map[string]bool) *httptest.Server {
	return ocspPeer(t, func(r *http.Request, req *xocsp.Request) (int, []byte) {
		if strings.Contains(r.URL.Path, "//") || strings.Contains(r.RequestURI, "+") {
			return http.StatusBadRequest, nil
		}
		if req.HashAlgorithm != crypto.SHA1 || !issued[req.SerialNumber.String()] {
			return http.StatusOK, xocsp.UnauthorizedErrorResponse
		}
		return http.StatusOK, p.Response(t, req.SerialNumber, p.CA, p.CAKey, nil)
	})
}

// hung never answers.
func hung(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// shaped finds a serial whose SHA-1 request has the shape.
func shaped(t *testing.T, is *ocsp.Issuer, shape func(string) bool) *big.Int {
	for i := int64(1); i < 1_000_000; i++ {
		s := big.NewInt(i*104729 + 1<<40)
		der, err := is.Request(s)
		if err != nil {
			t.Fatal(err)
		}
		if shape(ocsp.Base64(der)) {
			return s
		}
	}
	t.Fatal("no serial of that shape")
	return nil
}

// trackerWithGood tracks the serials, each answered good at origin 0.
func trackerWithGood(serials ...*big.Int) *Tracker {
	tr := NewTracker(1, 100)
	now := time.Now()
	for _, s := range serials {
		tr.Add(IssuedCert{Issuer: 0, Serial: s, PublishedAt: now, Kind: KindCertificate})
		tr.Record(0, Due{Issuer: 0, Serial: s}, ocsp.Outcome{Result: ocsp.ResultGood, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, now)
	}
	return tr
}

func runRound(t *testing.T, p *testPKI, tr *Tracker, url string, limit time.Duration) (*compliance, [checkCount]checkState) {
	t.Helper()
	m := newComplianceMetrics()
	c := newCompliance(config.OCSP{ComplianceInterval: config.Duration(time.Minute),
		Origins: []config.Origin{{Name: "peer", URL: url, Method: http.MethodPost}}}, []*ocsp.Issuer{p.issuer}, tr, m)
	c.limit = limit
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.round(ctx, c.origins[0], quiet)
	return c, c.origins[0].last
}

type want struct {
	result ocsp.Result
	passed bool
}

func checkStates(t *testing.T, got [checkCount]checkState, wants map[Check]want) {
	t.Helper()
	for _, chk := range Checks() {
		st, w := got[chk], wants[chk]
		if !st.ran || st.result != w.result || st.passed != w.passed {
			t.Errorf("%s: ran %v, result %v, passed %v (%s); want %v, passed %v", chk, st.ran, st.result, st.passed, st.detail, w.result, w.passed)
		}
	}
}

func TestComplianceAgainstPeers(t *testing.T) {
	p := compliancePKI(t)
	slash := shaped(t, p.issuer, hasSlashes)
	plus := shaped(t, p.issuer, plusOnly)
	issued := map[string]bool{slash.String(): true, plus.String(): true}
	good, unauth, httpErr, timeout := ocsp.ResultGood, ocsp.ResultUnauthorized, ocsp.ResultHTTPError, ocsp.ResultTimeout

	t.Run("liar answers good for unissued serials", func(t *testing.T) {
		c, got := runRound(t, p, trackerWithGood(slash, plus), liar(t, p).URL, 5*time.Second)
		checkStates(t, got, map[Check]want{
			CheckUnissuedGet: {good, false}, CheckUnissuedPost: {good, false}, CheckSHA256CertID: {good, true},
			CheckGetSlash: {good, true}, CheckGetSlashEncoded: {good, true}, CheckGetPlus: {good, true},
			CheckGetPlusEncoded: {good, true}, CheckResponseTime: {good, true}})
		if n := testutil.ToFloat64(c.m.checks.WithLabelValues("peer", "unissued_serial_get", "good")); n != 1 {
			t.Errorf("unissued_serial_get good counted %v times, want 1", n)
		}
	})
	t.Run("strict refuses // and raw +, knows only SHA-1", func(t *testing.T) {
		_, got := runRound(t, p, trackerWithGood(slash, plus), strict(t, p, issued).URL, 5*time.Second)
		checkStates(t, got, map[Check]want{
			CheckUnissuedGet: {unauth, true}, CheckUnissuedPost: {unauth, true}, CheckSHA256CertID: {unauth, false},
			CheckGetSlash: {httpErr, false}, CheckGetSlashEncoded: {httpErr, false}, CheckGetPlus: {httpErr, false},
			CheckGetPlusEncoded: {good, true}, CheckResponseTime: {good, true}})
	})
	t.Run("hung: over the limit, but never good", func(t *testing.T) {
		_, got := runRound(t, p, trackerWithGood(slash, plus), hung(t).URL, 100*time.Millisecond)
		checkStates(t, got, map[Check]want{
			CheckUnissuedGet: {timeout, true}, CheckUnissuedPost: {timeout, true}, CheckSHA256CertID: {timeout, false},
			CheckGetSlash: {timeout, false}, CheckGetSlashEncoded: {timeout, false}, CheckGetPlus: {timeout, false},
			CheckGetPlusEncoded: {timeout, false}, CheckResponseTime: {timeout, false}})
	})
	t.Run("nothing tracked: SHA-256 skipped, random serials elsewhere", func(t *testing.T) {
		c, got := runRound(t, p, NewTracker(1, 100), strict(t, p, issued).URL, 5*time.Second)
		if got[CheckSHA256CertID].ran {
			t.Errorf("sha256_certid ran without a known-good certificate")
		}
		// A random serial with a clean encoding is understood: unauthorized passes.
		if st := got[CheckGetPlusEncoded]; st.result != unauth || !st.passed {
			t.Errorf("get_plus_encoded on a random serial: %v passed %v", st.result, st.passed)
		}
		if st := got[CheckGetSlash]; st.result != httpErr || st.passed {
			t.Errorf("get_slash on a random serial: %v passed %v", st.result, st.passed)
		}
		if rows := c.rows(); len(rows) != 1 || rows[0].Up || !strings.Contains(rows[0].Summary, "skipped (no suitable certificate yet): sha256_certid") {
			t.Errorf("status rows %+v", rows)
		}
	})
}

// The unissued serial has the issuer's usual length, learnt from what is
// tracked, and the default with nothing tracked.
func TestUnissuedSerialLength(t *testing.T) {
	p := newTestPKI(t)
	long := new(big.Int).Lsh(big.NewInt(0x55), 19*8) // 20 bytes
	for _, tc := range []struct {
		tr   *Tracker
		want int
	}{{NewTracker(1, 10), defaultSerialLen}, {trackerWithGood(long, new(big.Int).Add(long, big.NewInt(1)), big.NewInt(7)), 20}} {
		s := tc.tr.ComplianceSample(0, 1, 10)
		pl := makePlan([]*ocsp.Issuer{p.issuer}, s, rand.Reader)
		ts := pl[CheckUnissuedGet]
		if len(ts) != 1 || len(ts[0].serial.Bytes()) != tc.want || ts[0].known {
			t.Errorf("unissued targets %+v, want one random serial of %d bytes", ts, tc.want)
		}
	}
}

// The checks run in the exporter: series pre-initialised, the liar's
// "good" for an unissued serial exposed, and the output passes promtool.
func TestComplianceInExporter(t *testing.T) {
	p := compliancePKI(t)
	dir := t.TempDir()
	issuerPath := filepath.Join(dir, "issuer.pem")
	if err := os.WriteFile(issuerPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	yml := fmt.Sprintf(`ocsp:
  interval: 1s
  compliance_interval: 10s
  issuers: [%s]
  sources: [{name: spool, type: dir, path: %s}]
  origins:
    - {name: liar, url: %q}
    - {name: quiet, url: %q, compliance: false}
`, issuerPath, spool, liar(t, p).URL, liar(t, p).URL)
	cfgPath := filepath.Join(dir, "certstatus.yml")
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	_, reg := startExporter(t, cfg)
	waitFor(t, func() bool {
		mfs, _ := reg.Gather()
		v, ok := metrictest.Sample(mfs, "certstatus_ocsp_compliance_passed", "origin", "liar", "check", "response_time")
		return ok && v == 1
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"certstatus_ocsp_compliance_passed", []string{"origin", "liar", "check", "unissued_serial_get"}, 0},
		{"certstatus_ocsp_compliance_passed", []string{"origin", "liar", "check", "unissued_serial_post"}, 0},
		{"certstatus_ocsp_compliance_last_result", []string{"origin", "liar", "check", "unissued_serial_post", "result", "good"}, 1},
		{"certstatus_ocsp_compliance_checks_total", []string{"origin", "liar", "check", "unissued_serial_get", "result", "good"}, 1},
		{"certstatus_ocsp_compliance_checks_total", []string{"origin", "liar", "check", "sha256_certid", "result", "good"}, 0},
	} {
		if v, ok := metrictest.Sample(mfs, s.name, s.labels...); !ok || v != s.want {
			t.Errorf("%s%v = %v (present %v), want %v", s.name, s.labels, v, ok, s.want)
		}
	}
	if _, ok := metrictest.Sample(mfs, "certstatus_ocsp_compliance_checks_total", "origin", "quiet"); ok {
		t.Errorf("origin with compliance: false has compliance series")
	}
	metrictest.PromtoolCheckMetrics(t, metrictest.Text(t, reg))
}
