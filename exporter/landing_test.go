package exporter

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
)

var href = regexp.MustCompile(`href="([^"]*)"`)

// Every link the landing page shows answers 200: no dead link, none
// leaving the exporter.
func TestLandingPageHasNoDeadLink(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	e := New(logger, &recorder{})
	e.ApplyConfig(&config.Config{Replicas: []config.Replica{{Name: "r"}}})
	t.Cleanup(e.Stop)
	h, err := e.Handler(prometheus.NewRegistry(), func() error { return nil }, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL + "/")
	page := get(t, srv.URL+"/")
	links := href.FindAllStringSubmatch(page, -1)
	if len(links) < 4 {
		t.Fatalf("landing page shows %d links, want at least metrics, status, health and profiles:\n%s", len(links), page)
	}
	seen := map[string]bool{}
	for _, m := range links {
		u, err := base.Parse(m[1])
		if err != nil || u.Host != base.Host {
			t.Errorf("link %q does not point at the exporter", m[1])
			continue
		}
		seen[u.Path] = true
		get(t, u.String())
	}
	if !seen["/debug/pprof/"] {
		t.Errorf("no link to the profiles: %v", seen)
	}
	// What the profile index links to most often.
	get(t, srv.URL+"/debug/pprof/heap")
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b)
}
