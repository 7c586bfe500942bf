package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/certstatus/certstatus_exporter/internal/testpki"
)

// Our SHA-256 CertID is the one x/crypto/ocsp builds from the certificate.
func TestRequestWithSHA256MatchesLibrary(t *testing.T) {
	p := newTestPKI(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		want, err := xocsp.CreateRequest(p.Responder, p.CA, &xocsp.RequestOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.issuer.RequestWith(h, p.Responder.SerialNumber)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v: request differs from x/crypto/ocsp's", h)
		}
	}
}

// slashPlusSerial finds a serial whose request's base64 holds "//" and "+".
func slashPlusSerial(t *testing.T, is *Issuer) (*big.Int, string) {
	for i := int64(1); i < 1_000_000; i++ {
		s := big.NewInt(i * 7919)
		der, err := is.Request(s)
		if err != nil {
			t.Fatal(err)
		}
		if b := Base64(der); strings.Contains(b, "//") && strings.Contains(b, "+") {
			return s, b
		}
	}
	t.Fatal("no serial with // and + found")
	return nil, ""
}

// Each variant reaches the server as written: raw '/' and '+', or
// percent-encoded; POST carries the DER; the answer is classified as usual.
func TestCheckVariantSendsWhatItSays(t *testing.T) {
	p := newTestPKI(t)
	serial, b64 := slashPlusSerial(t, p.issuer)
	escaped := strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(b64)
	var gotURI, gotMethod string
	var gotHash crypto.Hash
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURI, gotMethod = r.RequestURI, r.Method
		req, err := testpki.ParseOCSPRequest(r)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		gotHash = req.HashAlgorithm
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(p.Response(t, req.SerialNumber, p.CA, p.CAKey, nil))
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL + "/", HTTP: srv.Client()}
	for _, tc := range []struct {
		v       Variant
		wantURI string
	}{
		{Variant{Method: http.MethodGet, Form: GetRaw}, "/" + b64},
		{Variant{Method: http.MethodGet, Form: GetEscaped}, "/" + escaped},
		{Variant{Method: http.MethodGet, Form: GetRaw, Hash: crypto.SHA256}, ""},
		{Variant{Method: http.MethodPost, Hash: crypto.SHA256}, "/"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res := c.CheckVariant(ctx, p.issuer, serial, tc.v, time.Now)
		cancel()
		if res.Result != ResultGood {
			t.Errorf("%+v: result %v (%s), want good", tc.v, res.Result, res.Detail)
		}
		if tc.wantURI != "" && gotURI != tc.wantURI {
			t.Errorf("%+v: server saw %q, want %q", tc.v, gotURI, tc.wantURI)
		}
		if gotMethod != tc.v.Method {
			t.Errorf("%+v: method %s", tc.v, gotMethod)
		}
		if want := max(tc.v.Hash, crypto.SHA1); gotHash != want {
			t.Errorf("%+v: CertID hashed with %v, want %v", tc.v, gotHash, want)
		}
	}
	if !strings.Contains(b64, "//") || strings.Contains(escaped, "/") || strings.Contains(escaped, "+") {
		t.Errorf("test serial does not exercise the encodings: %q / %q", b64, escaped)
	}
}
