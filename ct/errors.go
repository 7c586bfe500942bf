package ct

import (
	"context"
	"errors"
	"fmt"
)

// Reason is why reading a log failed: a bounded set, fit for a metric label.
type Reason int

// The reasons, from the most to the least expected.
const (
	ReasonFetch        Reason = iota // network error or unexpected HTTP status
	ReasonTimeout                    // the call's deadline passed (a slow log)
	ReasonRateLimited                // the log kept answering 429 or 503 until the deadline
	ReasonBadSignature               // tree head not signed by the configured key, or wrong origin
	ReasonInconsistent               // the new tree does not extend the verified one, or entries do not match it
	ReasonParse                      // a response or entry that cannot be decoded
)

// Reasons lists every Reason, so a counter can be initialised for each.
func Reasons() []Reason {
	return []Reason{ReasonFetch, ReasonTimeout, ReasonRateLimited, ReasonBadSignature, ReasonInconsistent, ReasonParse}
}

func (r Reason) String() string {
	switch r {
	case ReasonFetch:
		return "fetch"
	case ReasonTimeout:
		return "timeout"
	case ReasonRateLimited:
		return "rate_limited"
	case ReasonBadSignature:
		return "bad_signature"
	case ReasonInconsistent:
		return "inconsistent"
	case ReasonParse:
		return "parse"
	}
	return "unknown"
}

// Error is every error this package returns from talking to a log.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("ct %s: %v", e.Reason, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is err's Reason; an error not from this package counts as fetch.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonFetch
}

func errorf(r Reason, format string, args ...any) error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

// fetchError classifies a failed call: a log last seen pushing back
// (429/503) is rate limiting; a deadline passed while the log only failed
// (refused, 5xx, retried by the libraries until then) is fetch; a deadline
// passed with no failed request is a slow log: timeout.
func fetchError(ctx context.Context, rec *recorder, failuresBefore int64, what string, err error) error {
	r := ReasonFetch
	switch {
	case rec.pushedBack():
		r = ReasonRateLimited
	case (isTimeout(err) || ctx.Err() != nil) && rec.failures.Load() == failuresBefore:
		r = ReasonTimeout
	}
	return &Error{Reason: r, Err: fmt.Errorf("%s: %w", what, err)}
}
