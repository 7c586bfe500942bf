package ocsp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Outcome is one checked answer.
type Outcome struct {
	Result     Result
	ThisUpdate time.Time
	NextUpdate time.Time
	// Cacheable: the answer's HTTP headers let a shared cache (a CDN) keep it.
	Cacheable bool
	Duration  time.Duration
	// Detail says what was wrong, for logs and the status page.
	Detail string
	// Digest of a verified authoritative answer that may be reused (0:
	// none); Reused: this answer was byte-identical to the Known one.
	Digest uint64
	Reused bool
}

// Client sends OCSP requests to one origin.
type Client struct {
	URL    string
	Host   string // Host header override, "" for the URL's
	Method string // GET or POST
	HTTP   *http.Client
	// Responders, when set, remembers verified delegated responder
	// certificates (shared by every origin of an issuer).
	Responders *ResponderCache
}

// Check asks the origin about serial and classifies the answer. ctx bounds it.
func (c *Client) Check(ctx context.Context, issuer *Issuer, serial *big.Int, now func() time.Time) Outcome {
	return c.Recheck(ctx, issuer, serial, Known{}, now)
}

// Recheck is Check for a certificate whose last answer from this origin is
// known: a byte-identical answer is not verified again (with Responders set).
func (c *Client) Recheck(ctx context.Context, issuer *Issuer, serial *big.Int, known Known, now func() time.Time) Outcome {
	start := time.Now()
	res := c.check(ctx, issuer, serial, known, now)
	res.Duration = time.Since(start)
	return res
}

func (c *Client) check(ctx context.Context, issuer *Issuer, serial *big.Int, known Known, now func() time.Time) Outcome {
	der, err := issuer.Request(serial)
	if err != nil {
		return Outcome{Result: ResultTransportError, Detail: "cannot build request: " + err.Error()}
	}
	req, err := c.newRequest(ctx, der)
	if err != nil {
		return Outcome{Result: ResultTransportError, Detail: err.Error()}
	}
	return c.exchange(ctx, req, issuer, serial, known, now)
}

// exchange sends req and classifies the answer about serial.
func (c *Client) exchange(ctx context.Context, req *http.Request, issuer *Issuer, serial *big.Int, known Known, now func() time.Time) Outcome {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return transportFailure(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return transportFailure(ctx, err)
	}
	return c.Responders.Classify(Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, issuer.Cert, serial, now(), known)
}

func (c *Client) newRequest(ctx context.Context, der []byte) (*http.Request, error) {
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

func transportFailure(ctx context.Context, err error) Outcome {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err) {
		return Outcome{Result: ResultTimeout, Detail: err.Error()}
	}
	return Outcome{Result: ResultTransportError, Detail: err.Error()}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
