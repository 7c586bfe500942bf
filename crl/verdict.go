package crl

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// check runs Check one at a time per canary: parsing a large CRL allocates
// about 20 times its size, so concurrent origins must not multiply that.
func (c *Canary) check(ctx context.Context, body []byte, exp Expect, now time.Time) (*View, Result, error) {
	select {
	case c.parsing <- struct{}{}:
	case <-ctx.Done():
		return nil, ResultTimeout, ctx.Err()
	}
	defer func() { <-c.parsing }()
	return Check(body, exp, now)
}

// bodyVerdict is the outcome of checking the last body fetched, kept so that
// an unchanged body (304, or the same bytes) is not parsed again.
type bodyVerdict struct {
	checked  bool
	bodyHash [sha256.Size]byte
	result   Result
	err      string
}

// again is the verdict for the same body now: checks that depend only on
// the clock are redone, the others stand.
func (v bodyVerdict) again(view *View, now time.Time) (Result, error) {
	switch v.result {
	case ResultOK, ResultThisUpdateFuture, ResultStale, ResultExpired:
		if view != nil {
			return checkTimes(view.ThisUpdate, view.NextUpdate, now)
		}
	}
	if v.err == "" {
		return v.result, nil
	}
	return v.result, errors.New(v.err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
