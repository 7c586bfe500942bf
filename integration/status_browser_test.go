package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/prometheus/common/promslog"

	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/browsertest"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// The incident view in a real browser during the lab fault: a certificate
// without its OCSP row (overdue after a short SLA) and replica-1's replay
// paused. Headless Chromium renders /status; the DOM must list the overdue
// serial in hex and the paused replica, and the JSON API the same serial.
// Screenshots (desktop and phone width) are kept as test artifacts.
func TestStatusPageInBrowser(t *testing.T) {
	browser := browsertest.Require(t)
	lab := labtest.Up(t)
	const sla = 5 * time.Second
	// Plus an incremental sql source ($1: its read position), shown on the
	// page; like the others it reads only this test's certificates, so that
	// other tests' overdue ones cannot crowd out the log lines it checks.
	since := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	incremental := fmt.Sprintf(`  sources:
    - name: certdb-incremental
      type: sql
      dsn: %q
      password_file: %s
      query: "SELECT pem, issued_at FROM certificates WHERE issued_at > $1 AND issued_at > '%s+00' ORDER BY issued_at LIMIT 1000"
`, lab.Env["LAB_PRIMARY_DSN"], lab.Env["LAB_PASSWORD_FILE"], since)
	cfg := labConfig(t, lab, strings.Replace(ocspConfig(t, lab, t.TempDir(), sla), "  sources:\n", incremental, 1)+
		"web: {certificate_link: \"https://crt.sh/?serial={{.Serial}}\", refresh: 10s}\n")
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	exp := exporter.New(logger, domains.All(logger, nil)...)
	exp.ApplyConfig(cfg)
	t.Cleanup(exp.Stop)
	h, err := exp.Handler(exporter.NewRegistry(exp), func() error { return nil }, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1, a free port
	t.Cleanup(srv.Close)

	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()") })
	serial := serialOf(t, lab.IssueNoRow(t))
	t.Logf("certificate without an OCSP row: serial %s", serial)

	// The condition, read through the API: overdue once the SLA has passed
	// and an origin pass has seen it; replica-1 seen paused.
	var overdue apiCerts
	eventually(t, 60*time.Second, "the serial overdue and replica-1 paused, per the API", func() error {
		overdue = apiCerts{}
		if err := getJSON(srv.URL+"/api/v1/certificates?state=overdue", &overdue); err != nil {
			return err
		}
		if !overdue.has(serial) {
			return fmt.Errorf("overdue serials %v lack %s", overdue.serials(), serial)
		}
		var reps struct {
			Replicas []struct {
				Name         string
				ReplayPaused *bool `json:"replay_paused"`
			}
		}
		if err := getJSON(srv.URL+"/api/v1/replicas", &reps); err != nil {
			return err
		}
		for _, r := range reps.Replicas {
			if r.Name == "replica-1" && r.ReplayPaused != nil && *r.ReplayPaused {
				return nil
			}
		}
		return fmt.Errorf("replica-1 not reported paused: %+v", reps.Replicas)
	})
	// One structured line per origin when it became overdue there.
	eventually(t, 10*time.Second, "an overdue log line per origin", func() error {
		return overdueLogged(logs.String(), serial, "origin-1", "origin-2", "cdn")
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"certificate overdue`) {
			t.Logf("log: %s", line)
			break
		}
	}
	c := overdue.get(serial)
	if c.Kind != "certificate" || c.Link != "https://crt.sh/?serial="+serial || len(c.Origins) != 3 {
		t.Errorf("API certificate %s = %+v", serial, c)
	}
	for _, o := range c.Origins {
		if o.State != "overdue" || o.Result == "good" {
			t.Errorf("API: %s at %s is %s (%s), want overdue", serial, o.Origin, o.State, o.Result)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := browser.DumpDOM(ctx, srv.URL+"/status")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	overdueSection := find(doc, "section", "id", "overdue")
	if overdueSection == nil {
		t.Fatalf("no overdue section in the DOM:\n%s", dom)
	}
	row := find(overdueSection, "tr", "data-serial", serial)
	if row == nil {
		t.Errorf("the overdue section does not list serial %s", serial)
	} else if cell := find(row, "td", "data-label", "serial"); cell == nil || strings.TrimSpace(text(cell)) != serial {
		t.Errorf("the serial cell shows %q, want %s", text(cell), serial)
	}
	rep := find(doc, "tr", "data-replica", "replica-1")
	if rep == nil {
		t.Error("the page does not list replica-1")
	} else if s := text(find(rep, "td", "data-label", "replication")); !strings.Contains(s, "replay paused") {
		t.Errorf("replica-1's replication cell says %q, want it paused", s)
	}
	for name, want := range map[string]string{"certdb": "newest certificate published", "certdb-incremental": "read up to issued_at"} {
		if s := text(find(find(doc, "tr", "data-source", name), "td", "data-label", "position")); !strings.Contains(s, want) {
			t.Errorf("source %s: position %q, want %q", name, s, want)
		}
	}
	if pw, err := os.ReadFile(lab.Env["LAB_PASSWORD_FILE"]); err != nil {
		t.Error(err)
	} else if p := strings.TrimSpace(string(pw)); p == "" || strings.Contains(dom, p) {
		t.Error("the page shows the lab's database password (or the password file is empty)")
	}

	dir := browsertest.ArtifactDir(t)
	for name, size := range map[string][2]int{"status-desktop.png": {1280, 1600}, "status-phone.png": {390, 2400}} {
		file := filepath.Join(dir, name)
		if err := browser.Screenshot(ctx, srv.URL+"/status", file, size[0], size[1]); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
}

// overdueLogged checks the JSON log for a "certificate overdue…" line about
// serial at each origin, with its age and the origin's last result.
func overdueLogged(logs, serial string, origins ...string) error {
	seen := map[string]bool{}
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg, Serial, Origin, Age, Result string
		}
		if json.Unmarshal([]byte(line), &l) != nil || !strings.HasPrefix(l.Msg, "certificate overdue") || l.Serial != serial {
			continue
		}
		if l.Age == "" || l.Result == "" || l.Result == "good" {
			return fmt.Errorf("overdue line lacks age or result: %s", line)
		}
		if seen[l.Origin] {
			return fmt.Errorf("overdue logged twice at %s", l.Origin)
		}
		seen[l.Origin] = true
	}
	for _, o := range origins {
		if !seen[o] {
			return fmt.Errorf("no \"certificate overdue…\" line for %s at %s", serial, o)
		}
	}
	return nil
}

func serialOf(t *testing.T, pemFile string) string {
	t.Helper()
	return fmt.Sprintf("%x", readCert(t, pemFile).SerialNumber.Bytes()) // as openssl shows it, even-length
}

type apiCert struct {
	Serial, Kind, Link string
	Origins            []struct{ Origin, State, Result string }
}

type apiCerts struct {
	Total        int
	Certificates []apiCert
}

func (a apiCerts) get(serial string) apiCert {
	for _, c := range a.Certificates {
		if c.Serial == serial {
			return c
		}
	}
	return apiCert{}
}

func (a apiCerts) has(serial string) bool { return a.get(serial).Serial == serial }

func (a apiCerts) serials() []string {
	var s []string
	for _, c := range a.Certificates {
		s = append(s, c.Serial)
	}
	return s
}

func getJSON(url string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// find is the first element under n (or n) named tag with attribute key=val.
func find(n *html.Node, tag, key, val string) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && n.Data == tag {
		for _, a := range n.Attr {
			if a.Key == key && a.Val == val {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, tag, key, val); f != nil {
			return f
		}
	}
	return nil
}

// text is the text content under n.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
