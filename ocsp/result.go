package ocsp

// Result classifies one OCSP check; its String is the bounded result label.
type Result uint8

// Every result a check can have. The zero value is "none": no answer yet.
const (
	ResultNone Result = iota
	ResultGood
	ResultRevoked
	ResultUnknown
	ResultUnauthorized
	ResultTryLater
	ResultMalformedRequest
	ResultInternalError
	ResultSigRequired
	ResultHTTPError
	ResultBadContentType
	ResultTransportError
	ResultTimeout
	ResultUnparseable
	ResultBadSignature
	ResultSerialMismatch
	ResultStale
	ResultNotYetValid
	// ResultBadValidity extends the design's set: a validity interval
	// outside the Baseline Requirements' 8 hours to 10 days, or no nextUpdate.
	ResultBadValidity
	resultCount
)

var resultNames = [resultCount]string{"none", "good", "revoked", "unknown", "unauthorized", "try_later",
	"malformed_request", "internal_error", "sig_required", "http_error", "bad_content_type",
	"transport_error", "timeout", "unparseable", "bad_signature", "serial_mismatch", "stale",
	"not_yet_valid", "bad_validity"}

func (r Result) String() string {
	if r >= resultCount {
		return "invalid"
	}
	return resultNames[r]
}

// Results lists every result an origin can give, so counters can be
// pre-declared (not ResultNone).
func Results() []Result {
	out := make([]Result, 0, resultCount-1)
	for r := ResultGood; r < resultCount; r++ {
		out = append(out, r)
	}
	return out
}

// Authoritative reports whether the result is a valid good or revoked answer.
func (r Result) Authoritative() bool { return r == ResultGood || r == ResultRevoked }

// Answered reports whether the origin sent an OCSP response, whatever its
// status: the origin is up.
func (r Result) Answered() bool {
	switch r {
	case ResultNone, ResultTransportError, ResultTimeout, ResultHTTPError, ResultBadContentType:
		return false
	}
	return true
}
