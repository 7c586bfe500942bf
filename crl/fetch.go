package crl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
)

// validators are what a conditional GET sends back.
type validators struct {
	ETag         string
	LastModified string
}

// fetched is one HTTP exchange for one CRL.
type fetched struct {
	Body        []byte
	NotModified bool
	Validators  validators
	Duration    time.Duration
	Result      Result // ResultOK when the body is worth checking
	Err         error
}

// crlContentTypes are accepted: RFC 5280's, the PKCS#7 one some CAs use, and
// octet-stream. A text/html body is a CDN or proxy error page.
func crlContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/pkix-crl", "application/x-pkcs7-crl", "application/octet-stream":
		return true
	}
	return false
}

// fetch GETs url with host in the Host header, conditionally on prev, reading
// at most maxSize bytes. ctx carries the deadline.
func fetch(ctx context.Context, client *http.Client, url, host string, prev validators, maxSize int64) fetched {
	start := time.Now()
	f := doFetch(ctx, client, url, host, prev, maxSize)
	f.Duration = time.Since(start)
	if f.Result != ResultOK && (errors.Is(f.Err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded) {
		f.Result = ResultTimeout
	}
	return f
}

func doFetch(ctx context.Context, client *http.Client, url, host string, prev validators, maxSize int64) fetched {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fetched{Result: ResultFetchError, Err: err}
	}
	if host != "" {
		req.Host = host
	}
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetched{Result: ResultFetchError, Err: err}
	}
	defer resp.Body.Close()
	v := validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified && (prev.ETag != "" || prev.LastModified != ""):
		return fetched{NotModified: true, Validators: prev}
	case resp.StatusCode != http.StatusOK:
		return fetched{Result: ResultHTTPStatus, Err: fmt.Errorf("HTTP status %s", resp.Status)}
	case !crlContentType(resp.Header.Get("Content-Type")):
		return fetched{Result: ResultContentType, Err: fmt.Errorf("content type %q is not a CRL's", resp.Header.Get("Content-Type"))}
	case resp.ContentLength > maxSize:
		return fetched{Result: ResultTooLarge, Err: fmt.Errorf("Content-Length %d is over the %d byte cap", resp.ContentLength, maxSize)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	switch {
	case err != nil:
		return fetched{Result: ResultFetchError, Err: fmt.Errorf("reading the body: %w", err)}
	case int64(len(body)) > maxSize:
		return fetched{Result: ResultTooLarge, Err: fmt.Errorf("body is over the %d byte cap", maxSize)}
	}
	return fetched{Body: body, Validators: v}
}

// newClient does not follow redirects: a CRL URL that redirects is worth
// seeing as its status. Deadlines come from each request's context.
func newClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RequestURL is where a shard is fetched at an origin: the shard URL's path
// (and query) under the origin's URL.
func RequestURL(origin config.CRLOrigin, shard config.Shard) string {
	su, err := url.Parse(shard.URL)
	if err != nil {
		return shard.URL
	}
	ou, err := url.Parse(origin.URL)
	if err != nil {
		return shard.URL
	}
	ou.Path = strings.TrimSuffix(ou.Path, "/") + su.Path
	ou.RawPath, ou.RawQuery = "", su.RawQuery
	return ou.String()
}

// requestHost is the Host header: the origin's host if set, else the shard
// URL's host, so that an origin node serves it as it would the public name.
func requestHost(origin config.CRLOrigin, shard config.Shard) string {
	if origin.Host != "" {
		return origin.Host
	}
	if u, err := url.Parse(shard.URL); err == nil {
		return u.Host
	}
	return ""
}
