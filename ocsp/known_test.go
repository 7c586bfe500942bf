package ocsp

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// A byte-identical answer reuses the verified result, dates checked against
// now; any other bytes are verified in full.
func TestKnownAnswerIsNotVerifiedAgain(t *testing.T) {
	p := newTestPKI(t)
	c := NewResponderCache(8)
	hdr := http.Header{"Content-Type": {"application/ocsp-response"}}
	// Within the responder certificate's validity (24 h).
	body := p.response(t, p.Responder, p.ResponderKey, withinResponder)
	now := time.Now()
	first := c.Classify(Answer{Status: 200, Header: hdr, Body: body}, p.CA, testSerial, now, Known{})
	if first.Result != ResultGood || first.Digest == 0 || first.Reused {
		t.Fatalf("first answer: %v digest %x reused %v", first.Result, first.Digest, first.Reused)
	}
	known := Known{Digest: first.Digest, Result: first.Result, ThisUpdate: first.ThisUpdate, NextUpdate: first.NextUpdate}
	again := c.Classify(Answer{Status: 200, Header: hdr, Body: body}, p.CA, testSerial, now, known)
	if again.Result != ResultGood || !again.Reused || !again.NextUpdate.Equal(first.NextUpdate) {
		t.Errorf("identical answer: %v reused %v", again.Result, again.Reused)
	}
	forged := bytes.Clone(body)
	forged[len(forged)-1] ^= 1 // the signature's last byte
	if res := c.Classify(Answer{Status: 200, Header: hdr, Body: forged}, p.CA, testSerial, now, known); res.Reused || res.Result == ResultGood {
		t.Errorf("altered answer with a known digest: %v reused %v; want verified and refused", res.Result, res.Reused)
	}
	if res := c.Classify(Answer{Status: 200, Header: hdr, Body: body}, p.CA, testSerial, first.NextUpdate.Add(time.Second), known); res.Result != ResultStale {
		t.Errorf("identical answer past its nextUpdate: %v, want stale", res.Result)
	}
	if res := c.Classify(Answer{Status: 503, Header: hdr, Body: body}, p.CA, testSerial, now, known); res.Result != ResultHTTPError {
		t.Errorf("identical body with HTTP 503: %v, want http_error", res.Result)
	}
	if res := Classify(Answer{Status: 200, Header: hdr, Body: body}, p.CA, testSerial, now); res.Digest != 0 {
		t.Error("without a cache there is no digest, so nothing is reused")
	}
	outlives := p.response(t, p.Responder, p.ResponderKey, nil) // nextUpdate in 71 h
	if res := c.Classify(Answer{Status: 200, Header: hdr, Body: outlives}, p.CA, testSerial, now, Known{}); res.Result != ResultGood || res.Digest != 0 {
		t.Errorf("answer outliving its responder certificate: %v digest %x; want good and not reusable", res.Result, res.Digest)
	}
}

func withinResponder(r *xocsp.Response) {
	r.ThisUpdate, r.NextUpdate = time.Now().Add(-time.Hour), time.Now().Add(20*time.Hour)
}

// An answer whose delegated responder certificate expires before its
// nextUpdate is not reused: the certificate's validity must be checked again.
func TestReusableOnlyWhileTheResponderIsValid(t *testing.T) {
	next := time.Now().Add(72 * time.Hour)
	for _, tc := range []struct {
		cert *x509.Certificate
		want bool
	}{
		{nil, true},
		{&x509.Certificate{Raw: []byte("issuer")}, true},
		{&x509.Certificate{Raw: []byte("responder"), NotAfter: next.Add(time.Hour)}, true},
		{&x509.Certificate{Raw: []byte("responder"), NotAfter: next.Add(-time.Hour)}, false},
	} {
		if got := reusable(&xocsp.Response{Certificate: tc.cert, NextUpdate: next}, []byte("issuer")); got != tc.want {
			t.Errorf("%+v: reusable %v, want %v", tc.cert, got, tc.want)
		}
	}
}
