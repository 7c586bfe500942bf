package crl

import (
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/certstatus/certstatus_exporter/config"
)

// ocspResponder answers POSTed OCSP requests, signed by the CA itself:
// revoked for the serials in revoked, good otherwise. It counts requests.
type ocspResponder struct {
	ca      testCA
	now     func() time.Time
	mu      sync.Mutex
	revoked map[int64]bool
	asked   map[int64]int
}

func (o *ocspResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := xocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.asked[req.SerialNumber.Int64()]++
	status := xocsp.Good
	if o.revoked[req.SerialNumber.Int64()] {
		status = xocsp.Revoked
	}
	o.mu.Unlock()
	now := o.now()
	der, err := xocsp.CreateResponse(o.ca.Cert, o.ca.Cert, xocsp.Response{Status: status, SerialNumber: req.SerialNumber,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(3 * 24 * time.Hour), RevokedAt: now.Add(-time.Hour)}, o.ca.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(der)
}

// Revocations are cross-checked with OCSP: "revoked" confirms one for good;
// one still answered good after the deadline is overdue.
func TestCanaryOCSPCrossCheck(t *testing.T) {
	f := newCanaryFixture(t)
	resp := &ocspResponder{ca: f.ca, now: func() time.Time { return f.now }, revoked: map[int64]bool{10: true}, asked: map[int64]int{}}
	srv := httptest.NewServer(resp)
	t.Cleanup(srv.Close)
	old := Revocation{Serial: big.NewInt(10), RevokedAt: testNow.Add(-2 * time.Hour), Reason: 1}
	fresh := Revocation{Serial: big.NewInt(11), RevokedAt: testNow.Add(-5 * time.Minute), Reason: 1}
	f.record.revs = []Revocation{old, fresh}
	f.publish(t, 1, testNow.Add(-time.Minute), f.record.revs, f.o1, f.o2, f.cdn)
	f.canary = NewCanary(f.cfg, Options{Source: f.record, Now: func() time.Time { return f.now }, OCSPOrigins: []config.Origin{
		{Name: "ocsp-1", URL: srv.URL + "/", Method: http.MethodPost, Timeout: config.Duration(5 * time.Second), Concurrency: 2}}})
	f.reg = newRegistry(f.canary)

	f.pass(t)
	for state, want := range map[string]float64{"revoked": 1, "pending": 1, "overdue": 0} {
		if v := f.value(t, "certstatus_crl_ocsp_revocations", "origin", "ocsp-1", "state", state); v != want {
			t.Errorf("%s = %v, want %v", state, v, want)
		}
	}
	f.now = testNow.Add(time.Hour)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_ocsp_revocations", "origin", "ocsp-1", "state", "overdue"); v != 1 {
		t.Errorf("overdue = %v", v)
	}
	resp.mu.Lock()
	resp.revoked[11] = true
	resp.mu.Unlock()
	f.pass(t)
	if v := f.value(t, "certstatus_crl_ocsp_revocations", "origin", "ocsp-1", "state", "revoked"); v != 2 {
		t.Errorf("revoked = %v", v)
	}
	resp.mu.Lock()
	defer resp.mu.Unlock()
	if resp.asked[10] != 1 || resp.asked[11] != 3 {
		t.Errorf("requests per serial = %v; a confirmed revocation is asked once", resp.asked)
	}
}
