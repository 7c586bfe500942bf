package ct

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// recorder wraps the HTTP transport to remember the last status a log
// answered. Both client libraries retry 429/5xx themselves and report the
// final failure as text, so this is how a failure is told to be rate limiting.
// It also bounds each request (headers and body) by timeout with its own
// context, rather than http.Client.Timeout, whose expiry can reach the
// transport as a plain "request canceled": this way a slow log is told from a
// failing one.
type recorder struct {
	next       http.RoundTripper
	timeout    time.Duration
	lastStatus atomic.Int32
	failures   atomic.Int64 // requests that failed: network error or HTTP status >= 400
	timeouts   atomic.Int64 // requests that timed out (a slow log, not a failing one)
	retryAfter atomic.Int64 // seconds, from the last 429/503
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), r.timeout)
	resp, err := r.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		switch {
		case isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded):
			r.timeouts.Add(1)
			r.lastStatus.Store(0)
		case !errors.Is(err, context.Canceled): // cancelled by the caller: not the log's doing
			r.failures.Add(1)
			r.lastStatus.Store(0)
		}
		return resp, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	r.lastStatus.Store(int32(resp.StatusCode))
	if resp.StatusCode >= 400 {
		r.failures.Add(1)
	}
	if pushback(resp.StatusCode) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			r.retryAfter.Store(int64(s))
		}
	}
	return resp, nil
}

// cancelOnClose ends a request's context once its body is read and closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func pushback(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

func (r *recorder) pushedBack() bool { return pushback(int(r.lastStatus.Load())) }

// wait is how long to back off after pushback: the log's Retry-After if it
// gave one, else the doubling fallback.
func (r *recorder) wait(fallback time.Duration) time.Duration {
	if s := r.retryAfter.Swap(0); s > 0 {
		return time.Duration(s) * time.Second
	}
	return fallback
}

func newHTTPClient(timeout time.Duration, parallel int, base http.RoundTripper) (*http.Client, *recorder) {
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Tile and get-entries reads run in parallel against one host.
		t.MaxIdleConnsPerHost = parallel
		base = t
	}
	rec := &recorder{next: base, timeout: timeout}
	return &http.Client{Transport: rec}, rec
}
