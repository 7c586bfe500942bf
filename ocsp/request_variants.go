package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// GetForm is how a GET request's base64 is written in the URL path.
type GetForm uint8

const (
	// GetEscaped percent-encodes every '/', '+' and '=': RFC 6960 appendix
	// A's "url-encoding of the base64".
	GetEscaped GetForm = iota
	// GetRaw sends the base64 as it is, '/' and '+' unencoded, as many
	// clients (and crt.sh's monitor) do.
	GetRaw
)

// Variant is how one request is built and sent: the ways root programs'
// monitors ask that the canary's own requests do not exercise.
type Variant struct {
	Method string      // GET or POST
	Hash   crypto.Hash // CertID hash; zero means SHA-1 (RFC 5019)
	Form   GetForm     // GET only
}

// RequestWith is the DER OCSP request for serial with a CertID hashed by h
// (RFC 6960 4.1.1 allows any hash; crt.sh asks with SHA-256).
func (is *Issuer) RequestWith(h crypto.Hash, serial *big.Int) ([]byte, error) {
	if h == 0 || h == crypto.SHA1 {
		return is.Request(serial)
	}
	name, key, err := certIDHashes(is.Cert, h)
	if err != nil {
		return nil, err
	}
	return (&xocsp.Request{HashAlgorithm: h, IssuerNameHash: name, IssuerKeyHash: key, SerialNumber: serial}).Marshal()
}

// certIDHashes hashes the issuer's name and public key bits as a CertID does.
func certIDHashes(cert *x509.Certificate, h crypto.Hash) (name, key []byte, err error) {
	if !h.Available() {
		return nil, nil, fmt.Errorf("hash %v not available", h)
	}
	bits, err := publicKeyBits(cert)
	if err != nil {
		return nil, nil, err
	}
	hn, hk := h.New(), h.New()
	hn.Write(cert.RawSubject)
	hk.Write(bits)
	return hn.Sum(nil), hk.Sum(nil), nil
}

// Base64 is the request as a GET carries it, before URL encoding.
func Base64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

// VariantURL is the GET URL for der written in form f.
func VariantURL(base string, der []byte, f GetForm) string {
	b64 := Base64(der)
	if f == GetEscaped {
		b64 = strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(b64)
	}
	return strings.TrimSuffix(base, "/") + "/" + b64
}

// CheckVariant asks the origin about serial as v says and classifies the
// answer with Classify, like every other answer. ctx bounds it.
func (c *Client) CheckVariant(ctx context.Context, issuer *Issuer, serial *big.Int, v Variant, now func() time.Time) Outcome {
	start := time.Now()
	res := c.checkVariant(ctx, issuer, serial, v, now)
	res.Duration = time.Since(start)
	return res
}

func (c *Client) checkVariant(ctx context.Context, issuer *Issuer, serial *big.Int, v Variant, now func() time.Time) Outcome {
	der, err := issuer.RequestWith(v.Hash, serial)
	if err != nil {
		return Outcome{Result: ResultTransportError, Detail: "cannot build request: " + err.Error()}
	}
	var req *http.Request
	switch v.Method {
	case http.MethodPost:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(der))
		if err == nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	case http.MethodGet:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, VariantURL(c.URL, der, v.Form), nil)
	default:
		err = errors.New("method must be GET or POST")
	}
	if err != nil {
		return Outcome{Result: ResultTransportError, Detail: err.Error()}
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	req.Header.Set("Accept", "application/ocsp-response")
	return c.exchange(ctx, req, issuer, serial, Known{}, now)
}
