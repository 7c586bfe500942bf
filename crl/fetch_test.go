package crl

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/0.crl"
}

func TestFetchResults(t *testing.T) {
	body := []byte("0123456789")
	cases := []struct {
		name string
		h    http.HandlerFunc
		want Result
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-crl")
			_, _ = w.Write(body)
		}, ResultOK},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, ResultHTTPStatus},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, ResultHTTPStatus},
		{"html error page with 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		}, ResultContentType},
		{"too large by length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-crl")
			_, _ = w.Write(make([]byte, 100))
		}, ResultTooLarge},
		{"too large, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-crl")
			for range 10 {
				_, _ = w.Write(make([]byte, 10))
				w.(http.Flusher).Flush()
			}
		}, ResultTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			f := fetch(ctx, newClient(), serve(t, tc.h), "", validators{}, 50)
			if f.Result != tc.want {
				t.Fatalf("result %s (%v), want %s", f.Result, f.Err, tc.want)
			}
			if tc.want == ResultOK && string(f.Body) != string(body) {
				t.Errorf("body %q", f.Body)
			}
		})
	}
}

func TestFetchConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/0.crl"
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if f := fetch(ctx, newClient(), url, "", validators{}, 50); f.Result != ResultFetchError {
		t.Fatalf("result %s (%v), want fetch_error", f.Result, f.Err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if f := fetch(ctx, newClient(), url, "", validators{}, 50); f.Result != ResultTimeout {
		t.Fatalf("result %s (%v), want timeout", f.Result, f.Err)
	}
}

// The Host header names the CRL's public host, and a second fetch is
// conditional on the first's ETag and Last-Modified.
func TestFetchHostAndConditional(t *testing.T) {
	var hosts []string
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		if r.Header.Get("If-None-Match") == `"v1"` && r.Header.Get("If-Modified-Since") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Fri, 27 Nov 2026 06:00:00 GMT")
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write([]byte("crl"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f1 := fetch(ctx, newClient(), url, "crl.example.com", validators{}, 50)
	if f1.Result != ResultOK || f1.NotModified || f1.Validators.ETag != `"v1"` {
		t.Fatalf("first fetch %+v", f1)
	}
	f2 := fetch(ctx, newClient(), url, "crl.example.com", f1.Validators, 50)
	if f2.Result != ResultOK || !f2.NotModified || f2.Validators != f1.Validators {
		t.Fatalf("second fetch %+v", f2)
	}
	if strings.Join(hosts, ",") != "crl.example.com,crl.example.com" {
		t.Errorf("Host headers %v", hosts)
	}
}

func TestContentTypes(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/pkix-crl": true, "application/x-pkcs7-crl": true, "application/octet-stream": true,
		"application/pkix-crl; charset=binary": true, "text/html; charset=utf-8": false, "": false, "text/plain": false,
	} {
		if got := crlContentType(ct); got != want {
			t.Errorf("crlContentType(%q) = %v", ct, got)
		}
	}
}
