// Package crl is the CRL canary: it fetches every CRL shard at every origin
// and through the CDN, checks each against the Baseline Requirements, and
// tells for every revocation in the CA's own record whether each origin lists
// it yet.
package crl

// Result is the outcome of one fetch-and-check of one shard at one origin. It
// is a metric label, so the set is small and fixed. A CRL failing several
// checks gets the first in this order: transport, then the body, then the
// signature, then the fields.
type Result uint8

// Results, in the order they are checked.
const (
	ResultOK Result = iota
	ResultFetchError
	ResultTimeout
	ResultHTTPStatus
	ResultContentType
	ResultTooLarge
	ResultParseError
	ResultBadSignature
	ResultIssuerMismatch
	ResultDeltaCRL
	ResultIndirectCRL
	ResultIDPMissing
	ResultIDPMismatch
	ResultNoNumber
	ResultNumberBackwards
	ResultThisUpdateBackwards
	ResultThisUpdateFuture
	ResultExpired
	ResultStale
	ResultValidityTooLong
	// ResultSlow is a CRL that passed every check but took longer than the
	// 10 s BR 4.10.2 allows.
	ResultSlow
	numResults
)

var resultNames = [numResults]string{
	ResultOK:                  "ok",
	ResultFetchError:          "fetch_error",
	ResultTimeout:             "timeout",
	ResultHTTPStatus:          "http_status",
	ResultContentType:         "content_type",
	ResultTooLarge:            "too_large",
	ResultParseError:          "parse_error",
	ResultBadSignature:        "bad_signature",
	ResultIssuerMismatch:      "issuer_mismatch",
	ResultDeltaCRL:            "delta_crl",
	ResultIndirectCRL:         "indirect_crl",
	ResultIDPMissing:          "idp_missing",
	ResultIDPMismatch:         "idp_mismatch",
	ResultNoNumber:            "no_number",
	ResultNumberBackwards:     "number_backwards",
	ResultThisUpdateBackwards: "this_update_backwards",
	ResultThisUpdateFuture:    "this_update_future",
	ResultStale:               "stale",
	ResultExpired:             "expired",
	ResultValidityTooLong:     "validity_too_long",
	ResultSlow:                "slow",
}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "unknown"
}

// Results returns every result, for pre-declaring counters.
func Results() []Result {
	out := make([]Result, numResults)
	for i := range out {
		out[i] = Result(i)
	}
	return out
}

// usable tells whether the CRL's content can be trusted for the revocation
// check: it was fetched, parsed, signed by the right CA and is a full,
// direct CRL of this shard. One whose IDP names another shard is not: its
// entries would read as removals here and its number would move this
// shard's mark.
func (r Result) usable() bool {
	return r == ResultOK || (r >= ResultIDPMissing && r != ResultIDPMismatch)
}
