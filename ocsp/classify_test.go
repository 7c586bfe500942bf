package ocsp

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/certstatus/certstatus_exporter/internal/testpki"
)

var testSerial = big.NewInt(424242)

// testPKI adds the probes' Issuer to a testpki.PKI.
type testPKI struct {
	*testpki.PKI
	issuer *Issuer
}

func newTestPKI(t testing.TB) *testPKI {
	p := testpki.New(t)
	is, err := NewIssuer(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{PKI: p, issuer: is}
}

func (p *testPKI) response(t testing.TB, signer *x509.Certificate, key crypto.Signer, tweak func(*xocsp.Response)) []byte {
	return p.Response(t, testSerial, signer, key, tweak)
}

// peer is a real HTTP server answering every OCSP request the same way; it
// checks that the request it got is a well-formed one for testSerial.
func peer(t *testing.T, handler func(w http.ResponseWriter)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := testpki.ParseOCSPRequest(r)
		if err != nil || req.SerialNumber.Cmp(testSerial) != 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		handler(w)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ocspBody(body []byte, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		_, _ = w.Write(body)
	}
}

func TestOCSPCheckAgainstPeers(t *testing.T) {
	p := newTestPKI(t)
	past := func(r *xocsp.Response) {
		r.ThisUpdate, r.NextUpdate = time.Now().Add(-80*time.Hour), time.Now().Add(-time.Hour)
	}
	future := func(r *xocsp.Response) {
		r.ThisUpdate, r.NextUpdate = time.Now().Add(time.Hour), time.Now().Add(72*time.Hour)
	}
	tooLong := func(r *xocsp.Response) { r.NextUpdate = r.ThisUpdate.Add(11 * 24 * time.Hour) }
	cases := []struct {
		name      string
		handler   func(w http.ResponseWriter)
		want      Result
		cacheable bool
	}{
		{"good signed by the issuer", ocspBody(p.response(t, p.CA, p.CAKey, nil)), ResultGood, false},
		{"good signed by the issuer, its certificate embedded", ocspBody(p.response(t, p.CA, p.CAKey, func(r *xocsp.Response) { r.Certificate = p.CA })), ResultGood, false},
		{"stranger signs and embeds itself", ocspBody(p.response(t, p.Stranger, p.StrangerKey, func(r *xocsp.Response) { r.Certificate = p.Stranger })), ResultBadSignature, false},
		{"good signed by a delegated responder", ocspBody(p.response(t, p.Responder, p.ResponderKey, nil), "Cache-Control", "max-age=3600, public"), ResultGood, true},
		{"revoked", ocspBody(p.response(t, p.CA, p.CAKey, func(r *xocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = xocsp.Revoked, time.Now().Add(-time.Minute), xocsp.KeyCompromise
		})), ResultRevoked, false},
		{"unknown", ocspBody(p.response(t, p.CA, p.CAKey, func(r *xocsp.Response) { r.Status = xocsp.Unknown })), ResultUnknown, false},
		{"garbage body", ocspBody([]byte("<html>definitely not DER</html>")), ResultUnparseable, false},
		{"wrong content type", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write(p.response(t, p.CA, p.CAKey, nil))
		}, ResultBadContentType, false},
		{"HTTP 500", func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) }, ResultHTTPError, false},
		{"answer for another serial", ocspBody(p.response(t, p.CA, p.CAKey, func(r *xocsp.Response) { r.SerialNumber = big.NewInt(7) })), ResultSerialMismatch, false},
		{"signed by an unrelated key", ocspBody(p.response(t, p.Stranger, p.StrangerKey, nil)), ResultBadSignature, false},
		{"delegated responder without OCSPSigning", ocspBody(p.response(t, p.NoEKU, p.NoEKUKey, nil)), ResultBadSignature, false},
		{"delegated responder expired", ocspBody(p.response(t, p.Expired, p.ExpiredKey, nil)), ResultBadSignature, false},
		{"nextUpdate passed", ocspBody(p.response(t, p.CA, p.CAKey, past)), ResultStale, false},
		{"thisUpdate in the future", ocspBody(p.response(t, p.CA, p.CAKey, future)), ResultNotYetValid, false},
		{"validity over 10 days", ocspBody(p.response(t, p.CA, p.CAKey, tooLong)), ResultBadValidity, false},
		{"tryLater", ocspBody(xocsp.TryLaterErrorResponse), ResultTryLater, false},
		{"unauthorized, cacheable by a CDN", ocspBody(xocsp.UnauthorizedErrorResponse, "Cache-Control", "public, max-age=86400"), ResultUnauthorized, true},
		{"unauthorized, no-cache", ocspBody(xocsp.UnauthorizedErrorResponse, "Cache-Control", "max-age=0, no-cache"), ResultUnauthorized, false},
		{"malformed request", ocspBody(xocsp.MalformedRequestErrorResponse), ResultMalformedRequest, false},
		{"internal error", ocspBody(xocsp.InternalErrorErrorResponse), ResultInternalError, false},
		{"sigRequired", ocspBody(xocsp.SigRequredErrorResponse), ResultSigRequired, false},
		{"slower than the timeout", func(w http.ResponseWriter) { time.Sleep(time.Second) }, ResultTimeout, false},
		{"connection dropped", func(w http.ResponseWriter) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		}, ResultTransportError, false},
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, tc := range cases {
			t.Run(method+"/"+tc.name, func(t *testing.T) {
				srv := peer(t, tc.handler)
				c := &Client{URL: srv.URL + "/", Method: method, HTTP: srv.Client()}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				res := c.Check(ctx, p.issuer, testSerial, time.Now)
				if res.Result != tc.want {
					t.Errorf("result %v (%s), want %v", res.Result, res.Detail, tc.want)
				}
				if res.Cacheable != tc.cacheable {
					t.Errorf("cacheable = %v, want %v", res.Cacheable, tc.cacheable)
				}
				if !slices.Contains(Results(), res.Result) {
					t.Errorf("result %v is not in the fixed set", res.Result)
				}
			})
		}
	}
}

func TestOCSPHostOverride(t *testing.T) {
	p := newTestPKI(t)
	var host string
	srv := peer(t, func(w http.ResponseWriter) {})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		ocspBody(p.response(t, p.CA, p.CAKey, nil))(w)
	})
	c := &Client{URL: srv.URL, Host: "ocsp.example.com", Method: http.MethodGet, HTTP: srv.Client()}
	if res := c.Check(context.Background(), p.issuer, testSerial, time.Now); res.Result != ResultGood || host != "ocsp.example.com" {
		t.Errorf("result %s, Host %q; want good via Host ocsp.example.com", res.Result, host)
	}
}

func TestCacheable(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		h    http.Header
		want bool
	}{
		{http.Header{}, false},
		{http.Header{"Cache-Control": {"max-age=300"}}, true},
		{http.Header{"Cache-Control": {"max-age=0"}}, false},
		{http.Header{"Cache-Control": {"public, s-maxage=0, max-age=600"}}, false},
		{http.Header{"Cache-Control": {"max-age=600, private"}}, false},
		{http.Header{"Cache-Control": {"no-store"}}, false},
		{http.Header{"Expires": {now.Add(time.Hour).UTC().Format(http.TimeFormat)}}, true},
		{http.Header{"Expires": {now.Add(-time.Hour).UTC().Format(http.TimeFormat)}}, false},
	} {
		if got := Cacheable(tc.h, now); got != tc.want {
			t.Errorf("Cacheable(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// FuzzClassify: whatever an origin sends, Classify returns a result of the
// fixed set and never panics. CI runs it briefly (make fuzz).
func FuzzClassify(f *testing.F) {
	p := newTestPKI(f)
	f.Add(p.response(f, p.CA, p.CAKey, nil), "application/ocsp-response", 200)
	f.Add(p.response(f, p.Responder, p.ResponderKey, nil), "application/ocsp-response", 200)
	f.Add(xocsp.UnauthorizedErrorResponse, "application/ocsp-response", 200)
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x00}, "application/ocsp-response", 200)
	f.Add([]byte("garbage"), "text/plain", 500)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, status int) {
		h := http.Header{"Content-Type": {contentType}}
		res := Classify(Answer{Status: status, Header: h, Body: body}, p.CA, testSerial, time.Now())
		if !slices.Contains(Results(), res.Result) {
			t.Fatalf("result %v outside the fixed set", res.Result)
		}
	})
}

// A cached responder is still a checked one: a responder certificate the
// issuer did not sign is refused with and without the cache, and the cache
// remembers only what passed.
func TestResponderCache(t *testing.T) {
	p := newTestPKI(t)
	c := NewResponderCache(1)
	good := Answer{Status: 200, Header: http.Header{"Content-Type": {"application/ocsp-response"}},
		Body: p.response(t, p.Responder, p.ResponderKey, nil)}
	for range 2 {
		if res := c.Classify(good, p.CA, testSerial, time.Now(), Known{}); res.Result != ResultGood {
			t.Fatalf("delegated answer: %v (%s)", res.Result, res.Detail)
		}
	}
	if len(c.ok) != 1 {
		t.Errorf("cache holds %d, want 1", len(c.ok))
	}
	// The same responder certificate presented for another issuer is not
	// taken from the cache.
	other := newTestPKI(t)
	if res := c.Classify(good, other.CA, testSerial, time.Now(), Known{}); res.Result != ResultBadSignature {
		t.Errorf("responder of another CA: %v, want bad_signature", res.Result)
	}
	if len(c.ok) != 1 {
		t.Errorf("a failed check was cached: %d entries", len(c.ok))
	}
}

// BenchmarkClassifyDelegated: one delegated answer, without and with the
// responder cache, and byte-identical to a known answer (go test -run '^$'
// -bench ClassifyDelegated ./ocsp/).
func BenchmarkClassifyDelegated(b *testing.B) {
	p := newTestPKI(b)
	a := Answer{Status: 200, Header: http.Header{"Content-Type": {"application/ocsp-response"}},
		Body: p.response(b, p.Responder, p.ResponderKey, nil)}
	now := time.Now()
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			Classify(a, p.CA, testSerial, now)
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := NewResponderCache(8)
		for b.Loop() {
			c.Classify(a, p.CA, testSerial, now, Known{})
		}
	})
	b.Run("identical", func(b *testing.B) {
		c := NewResponderCache(8)
		a := a
		a.Body = p.response(b, p.Responder, p.ResponderKey, withinResponder)
		first := c.Classify(a, p.CA, testSerial, now, Known{})
		if first.Digest == 0 {
			b.Fatal("answer not reusable")
		}
		known := Known{Digest: first.Digest, Result: first.Result, ThisUpdate: first.ThisUpdate, NextUpdate: first.NextUpdate}
		for b.Loop() {
			c.Classify(a, p.CA, testSerial, now, known)
		}
	})
}
