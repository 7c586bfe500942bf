package probes

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1" //nolint:gosec // OCSP CertIDs use SHA-1 (RFC 5019)
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP results: a fixed set, used as the result label.
const (
	ResultGood             = "good"
	ResultRevoked          = "revoked"
	ResultUnknown          = "unknown"
	ResultUnauthorized     = "unauthorized"
	ResultTryLater         = "try_later"
	ResultMalformedRequest = "malformed_request"
	ResultInternalError    = "internal_error"
	ResultSigRequired      = "sig_required"
	ResultHTTPError        = "http_error"
	ResultBadContentType   = "bad_content_type"
	ResultTransportError   = "transport_error"
	ResultTimeout          = "timeout"
	ResultUnparseable      = "unparseable"
	ResultBadSignature     = "bad_signature"
	ResultSerialMismatch   = "serial_mismatch"
	ResultStale            = "stale"
	ResultNotYetValid      = "not_yet_valid"
	// ResultBadValidity extends the design's set: a validity interval
	// outside the Baseline Requirements' 8 hours to 10 days, or no nextUpdate.
	ResultBadValidity = "bad_validity"
)

// OCSPResults lists every result, so counters can be pre-declared.
var OCSPResults = []string{ResultGood, ResultRevoked, ResultUnknown, ResultUnauthorized, ResultTryLater,
	ResultMalformedRequest, ResultInternalError, ResultSigRequired, ResultHTTPError, ResultBadContentType,
	ResultTransportError, ResultTimeout, ResultUnparseable, ResultBadSignature, ResultSerialMismatch,
	ResultStale, ResultNotYetValid, ResultBadValidity}

// Authoritative reports whether a result is a valid good or revoked answer.
func Authoritative(result string) bool { return result == ResultGood || result == ResultRevoked }

// BR 4.9.10 bounds an OCSP response's validity interval.
const (
	MinValidity = 8 * time.Hour
	MaxValidity = 10 * 24 * time.Hour
	// clockSkew tolerated on thisUpdate.
	clockSkew = time.Minute
	// maxResponseBytes bounds what is read from an origin.
	maxResponseBytes = 1 << 20
)

// Issuer is an issuing CA with the hashes its OCSP CertIDs carry.
type Issuer struct {
	Cert     *x509.Certificate
	NameHash []byte
	KeyHash  []byte
}

// NewIssuer precomputes the SHA-1 CertID hashes of an issuing CA.
func NewIssuer(cert *x509.Certificate) (*Issuer, error) {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("issuer %q: %w", cert.Subject, err)
	}
	name := sha1.Sum(cert.RawSubject)            //nolint:gosec
	key := sha1.Sum(spki.PublicKey.RightAlign()) //nolint:gosec
	return &Issuer{Cert: cert, NameHash: name[:], KeyHash: key[:]}, nil
}

// Request is the DER OCSP request for a serial of this issuer.
func (is *Issuer) Request(serial *big.Int) ([]byte, error) {
	return (&ocsp.Request{HashAlgorithm: crypto.SHA1, IssuerNameHash: is.NameHash,
		IssuerKeyHash: is.KeyHash, SerialNumber: serial}).Marshal()
}

// OCSPResult is one checked answer.
type OCSPResult struct {
	Result     string
	ThisUpdate time.Time
	NextUpdate time.Time
	// Cacheable: the answer's HTTP headers let a shared cache (a CDN) keep it.
	Cacheable bool
	Duration  time.Duration
	// Detail says what was wrong, for logs and the status page.
	Detail string
}

// OCSPClient sends OCSP requests to one origin.
type OCSPClient struct {
	URL    string
	Host   string // Host header override, "" for the URL's
	Method string // GET or POST
	HTTP   *http.Client
}

// Check asks the origin about serial and classifies the answer. ctx bounds it.
func (c *OCSPClient) Check(ctx context.Context, issuer *Issuer, serial *big.Int, now func() time.Time) OCSPResult {
	start := time.Now()
	res := c.check(ctx, issuer, serial, now)
	res.Duration = time.Since(start)
	return res
}

func (c *OCSPClient) check(ctx context.Context, issuer *Issuer, serial *big.Int, now func() time.Time) OCSPResult {
	der, err := issuer.Request(serial)
	if err != nil {
		return OCSPResult{Result: ResultTransportError, Detail: "cannot build request: " + err.Error()}
	}
	req, err := c.newRequest(ctx, der)
	if err != nil {
		return OCSPResult{Result: ResultTransportError, Detail: err.Error()}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return transportFailure(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return transportFailure(ctx, err)
	}
	return Classify(Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, issuer.Cert, serial, now())
}

func (c *OCSPClient) newRequest(ctx context.Context, der []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	if c.Method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(der))
		if req != nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, GetURL(c.URL, der), nil)
	}
	if err != nil {
		return nil, err
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	req.Header.Set("Accept", "application/ocsp-response")
	return req, nil
}

// GetURL is the RFC 5019 / RFC 6960 appendix A GET form: the base64 of the
// DER request, URL-escaped, as the last path segment. About 0.4% of requests
// contain "//" once decoded; servers that clean paths (Go's ServeMux, as in
// cfssl ocspserve) answer those with 400, and the canary reports it.
func GetURL(base string, der []byte) string {
	return strings.TrimSuffix(base, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
}

func transportFailure(ctx context.Context, err error) OCSPResult {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err) {
		return OCSPResult{Result: ResultTimeout, Detail: err.Error()}
	}
	return OCSPResult{Result: ResultTransportError, Detail: err.Error()}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Answer is an origin's HTTP answer.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Classify turns an HTTP answer into a result: every answer, however broken,
// gets one of OCSPResults.
func Classify(a Answer, issuer *x509.Certificate, serial *big.Int, now time.Time) OCSPResult {
	res := OCSPResult{Cacheable: Cacheable(a.Header, now)}
	fail := func(result, format string, args ...any) OCSPResult {
		res.Result, res.Detail = result, fmt.Sprintf(format, args...)
		return res
	}
	if a.Status != http.StatusOK {
		return fail(ResultHTTPError, "HTTP status %d", a.Status)
	}
	if ct := a.Header.Get("Content-Type"); !strings.EqualFold(strings.TrimSpace(strings.Split(ct, ";")[0]), "application/ocsp-response") {
		return fail(ResultBadContentType, "content type %q", ct)
	}
	if len(a.Body) > maxResponseBytes {
		return fail(ResultUnparseable, "response larger than %d bytes", maxResponseBytes)
	}
	r, err := ocsp.ParseResponse(a.Body, issuer)
	if err != nil {
		var re ocsp.ResponseError
		var pe ocsp.ParseError
		switch {
		case errors.As(err, &re):
			return fail(errorStatusResult(re.Status), "OCSP error status: %s", re.Status)
		case errors.As(err, &pe) && strings.Contains(string(pe), "signature"):
			return fail(ResultBadSignature, "%s", pe)
		default:
			return fail(ResultUnparseable, "%v", err)
		}
	}
	res.ThisUpdate, res.NextUpdate = r.ThisUpdate, r.NextUpdate
	if r.SerialNumber == nil || r.SerialNumber.Cmp(serial) != 0 {
		return fail(ResultSerialMismatch, "answer is for serial %v", r.SerialNumber)
	}
	if r.Certificate != nil {
		if detail := checkDelegated(r.Certificate, now); detail != "" {
			return fail(ResultBadSignature, "%s", detail)
		}
	}
	if r.ThisUpdate.After(now.Add(clockSkew)) {
		return fail(ResultNotYetValid, "thisUpdate %s is in the future", r.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if r.NextUpdate.IsZero() {
		return fail(ResultBadValidity, "no nextUpdate")
	}
	if !r.NextUpdate.After(now) {
		return fail(ResultStale, "nextUpdate %s has passed", r.NextUpdate.UTC().Format(time.RFC3339))
	}
	if v := r.NextUpdate.Sub(r.ThisUpdate); v < MinValidity-time.Second || v > MaxValidity+time.Second {
		return fail(ResultBadValidity, "validity interval %s outside the BR's 8h..240h", v)
	}
	switch r.Status {
	case ocsp.Good:
		res.Result = ResultGood
	case ocsp.Revoked:
		res.Result = ResultRevoked
	default:
		return fail(ResultUnknown, "certificate status unknown")
	}
	return res
}

// checkDelegated: a responder certificate must hold id-kp-OCSPSigning and be
// valid now (ParseResponse already checked the issuer signed it).
func checkDelegated(c *x509.Certificate, now time.Time) string {
	hasEKU := false
	for _, eku := range c.ExtKeyUsage {
		if eku == x509.ExtKeyUsageOCSPSigning {
			hasEKU = true
		}
	}
	switch {
	case !hasEKU:
		return fmt.Sprintf("delegated responder %q lacks id-kp-OCSPSigning", c.Subject.CommonName)
	case now.Before(c.NotBefore) || now.After(c.NotAfter):
		return fmt.Sprintf("delegated responder %q is not valid now", c.Subject.CommonName)
	}
	return ""
}

func errorStatusResult(s ocsp.ResponseStatus) string {
	switch s {
	case ocsp.Malformed:
		return ResultMalformedRequest
	case ocsp.InternalError:
		return ResultInternalError
	case ocsp.TryLater:
		return ResultTryLater
	case ocsp.SignatureRequired:
		return ResultSigRequired
	case ocsp.Unauthorized:
		return ResultUnauthorized
	}
	return ResultUnparseable
}
