package ocsp

import (
	"bytes"
	"hash/maphash"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Known is what an origin last answered about a certificate, verified. An
// answer byte-identical to it is the same signed statement: it is neither
// parsed nor verified again, only its dates are checked against now. On a
// recheck that is most answers, and the signature check was most of the
// cost of one (issue 12).
type Known struct {
	Digest     uint64 // of the answer's body (0: nothing known)
	Result     Result
	ThisUpdate time.Time
	NextUpdate time.Time
}

// digest of an answer's body, keyed by this process's random seed, so no
// one can make another answer collide with a known one. 0 without a cache:
// nothing is reused then.
func (c *ResponderCache) digest(body []byte) uint64 {
	if c == nil {
		return 0
	}
	return max(maphash.Bytes(c.seed, body), 1)
}

// reusable: the verified answer r stays valid as long as its own dates
// say; a delegated responder certificate that expires before nextUpdate
// would need checking again, so such an answer is not reused.
func reusable(r *xocsp.Response, issuer []byte) bool {
	return r.Certificate == nil || bytes.Equal(r.Certificate.Raw, issuer) || !r.Certificate.NotAfter.Before(r.NextUpdate)
}

// reuse classifies an answer byte-identical to k: its result, unless its
// nextUpdate has passed since.
func reuse(res Outcome, k Known, now time.Time) Outcome {
	res.ThisUpdate, res.NextUpdate, res.Digest, res.Reused = k.ThisUpdate, k.NextUpdate, k.Digest, true
	if !k.NextUpdate.After(now) {
		res.Result, res.Digest = ResultStale, 0
		res.Detail = "nextUpdate " + k.NextUpdate.UTC().Format(time.RFC3339) + " has passed"
		return res
	}
	res.Result = k.Result
	return res
}
