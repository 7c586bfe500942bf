package canary

import (
	"crypto"
	"net/http"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Check is one compliance probe, asked of every origin each
// ocsp.compliance_interval; its String is the check label.
type Check uint8

// The fixed set of checks: what root programs and crt.sh test of an OCSP
// responder beyond the certificates that exist.
const (
	// CheckUnissuedGet asks, by GET, about a random serial that was never
	// issued: BR 4.9.10 forbids "good" for it.
	CheckUnissuedGet Check = iota
	// CheckUnissuedPost is the same over POST.
	CheckUnissuedPost
	// CheckSHA256CertID asks about a certificate this origin answered good,
	// with its CertID hashed by SHA-256 (RFC 6960 allows it).
	CheckSHA256CertID
	// CheckGetSlash is a GET whose base64 holds "//", sent unencoded.
	CheckGetSlash
	// CheckGetSlashEncoded is that GET with '/' sent as %2F.
	CheckGetSlashEncoded
	// CheckGetPlus is a GET whose base64 holds '+', sent unencoded.
	CheckGetPlus
	// CheckGetPlusEncoded is that GET with '+' sent as %2B.
	CheckGetPlusEncoded
	// CheckResponseTime: an answer within BR 4.10.2's ten seconds.
	CheckResponseTime
	checkCount
)

var checkNames = [checkCount]string{"unissued_serial_get", "unissued_serial_post", "sha256_certid",
	"get_slash", "get_slash_encoded", "get_plus", "get_plus_encoded", "response_time"}

func (c Check) String() string {
	if c >= checkCount {
		return "invalid"
	}
	return checkNames[c]
}

// Checks lists every check.
func Checks() []Check {
	out := make([]Check, 0, checkCount)
	for c := Check(0); c < checkCount; c++ {
		out = append(out, c)
	}
	return out
}

// unissued reports whether the check asks about a serial never issued.
func (c Check) unissued() bool { return c == CheckUnissuedGet || c == CheckUnissuedPost }

// Passed applies the check's rule to an answer. known: the serial asked
// about is a certificate this origin last answered good, so anything but an
// authoritative answer is the origin failing the request's form; otherwise
// (a random serial) any OCSP status or unauthorized shows the request was
// understood.
func (c Check) Passed(r ocsp.Result, known bool) bool {
	switch {
	case c.unissued():
		return r != ocsp.ResultGood
	case c == CheckResponseTime:
		// Other failures (HTTP errors, refused connections) are the
		// canary's to report; this check is about time only.
		return r != ocsp.ResultTimeout
	case known:
		return r.Authoritative()
	}
	return r.Authoritative() || r == ocsp.ResultUnknown || r == ocsp.ResultUnauthorized
}

// variant is how the check's request is built and sent; method is the
// origin's configured one, for the checks that do not fix it.
func (c Check) variant(method string) ocsp.Variant {
	v := ocsp.Variant{Method: http.MethodGet, Hash: crypto.SHA1, Form: ocsp.GetEscaped}
	switch c {
	case CheckUnissuedPost:
		v.Method = http.MethodPost
	case CheckSHA256CertID:
		v.Method, v.Hash = method, crypto.SHA256
	case CheckGetSlash, CheckGetPlus:
		v.Form = ocsp.GetRaw
	case CheckResponseTime:
		v.Method = method
	}
	return v
}
