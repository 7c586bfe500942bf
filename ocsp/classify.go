// Package ocsp asks an OCSP responder about one certificate and classifies
// the answer, however broken, into a fixed set of results.
package ocsp

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// BR 4.9.10 bounds an OCSP response's validity interval.
const (
	MinValidity = 8 * time.Hour
	MaxValidity = 10 * 24 * time.Hour
	// clockSkew tolerated on thisUpdate.
	clockSkew = time.Minute
	// maxResponseBytes bounds what is read from an origin.
	maxResponseBytes = 1 << 20
)

// Answer is an origin's HTTP answer.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Classify turns an HTTP answer into a result: every answer, however broken,
// gets one of Results().
func Classify(a Answer, issuer *x509.Certificate, serial *big.Int, now time.Time) Outcome {
	return classify(a, issuer, serial, now, nil, Known{})
}

// Classify is the package's Classify, with delegated responder certificates
// checked once per certificate rather than once per answer, and an answer
// byte-identical to known (verified before) not verified again.
func (c *ResponderCache) Classify(a Answer, issuer *x509.Certificate, serial *big.Int, now time.Time, known Known) Outcome {
	return classify(a, issuer, serial, now, c, known)
}

func classify(a Answer, issuer *x509.Certificate, serial *big.Int, now time.Time, responders *ResponderCache, known Known) Outcome {
	res := Outcome{Cacheable: Cacheable(a.Header, now)}
	fail := func(result Result, format string, args ...any) Outcome {
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
	digest := responders.digest(a.Body)
	if known.Digest != 0 && digest == known.Digest {
		return reuse(res, known, now)
	}
	// Parsed without the issuer, so that every signature check below is
	// ours and typed. (The library still checks that an embedded responder
	// certificate signed the response; a mismatch there is a ParseError,
	// classified unparseable.)
	r, err := xocsp.ParseResponse(a.Body, nil)
	if err != nil {
		var re xocsp.ResponseError
		if errors.As(err, &re) {
			return fail(errorStatusResult(re.Status), "OCSP error status: %s", re.Status)
		}
		return fail(ResultUnparseable, "%v", err)
	}
	res.ThisUpdate, res.NextUpdate = r.ThisUpdate, r.NextUpdate
	if detail := checkSigner(r, issuer, now, responders); detail != "" {
		return fail(ResultBadSignature, "%s", detail)
	}
	if r.SerialNumber == nil || r.SerialNumber.Cmp(serial) != 0 {
		return fail(ResultSerialMismatch, "answer is for serial %v", r.SerialNumber)
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
	case xocsp.Good:
		res.Result = ResultGood
	case xocsp.Revoked:
		res.Result = ResultRevoked
	default:
		return fail(ResultUnknown, "certificate status unknown")
	}
	if reusable(r, issuer.Raw) {
		res.Digest = digest
	}
	return res
}

// checkSigner: the response is signed by the issuer itself, or by a
// delegated responder certificate that the issuer signed.
func checkSigner(r *xocsp.Response, issuer *x509.Certificate, now time.Time, responders *ResponderCache) string {
	if r.Certificate == nil {
		if err := r.CheckSignatureFrom(issuer); err != nil {
			return "response not signed by the issuer: " + err.Error()
		}
		return ""
	}
	// The library checked that r.Certificate signed the response. A
	// responder that signs with the CA key may embed the CA certificate
	// itself: that is the issuer signing, not a delegation.
	c := r.Certificate
	if bytes.Equal(c.Raw, issuer.Raw) {
		return ""
	}
	if err := responders.checkIssued(issuer, c); err != nil {
		return fmt.Sprintf("delegated responder %q not signed by the issuer: %v", c.Subject.CommonName, err)
	}
	return checkDelegated(c, now)
}

// checkDelegated: a responder certificate must hold id-kp-OCSPSigning and be
// valid now.
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

func errorStatusResult(s xocsp.ResponseStatus) Result {
	switch s {
	case xocsp.Malformed:
		return ResultMalformedRequest
	case xocsp.InternalError:
		return ResultInternalError
	case xocsp.TryLater:
		return ResultTryLater
	case xocsp.SignatureRequired:
		return ResultSigRequired
	case xocsp.Unauthorized:
		return ResultUnauthorized
	}
	return ResultUnparseable
}
