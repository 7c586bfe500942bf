package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/store"
)

// The committed JSON is what the generator writes (go run ./dashboards/gen).
func TestCommittedJSONIsCurrent(t *testing.T) {
	for name, d := range Dashboards() {
		want, _ := json.MarshalIndent(d, "", "  ")
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace(got), want) {
			t.Errorf("dashboards/%s is stale: run go run ./dashboards/gen", name)
		}
	}
}

type panel struct {
	Type       string
	Title      string
	Datasource struct{ UID string }
	Targets    []struct{ Expr string }
	Panels     []panel
}

type dashboardJSON struct {
	UID        string
	Title      string
	Templating struct {
		List []struct{ Name, Type string }
	}
	Panels []panel
}

func loadDashboards(t *testing.T) map[string]dashboardJSON {
	files, _ := filepath.Glob("../*.json")
	if len(files) != 3 {
		t.Fatalf("want 3 dashboards, found %v", files)
	}
	out := map[string]dashboardJSON{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboardJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// exported lists every series name the exporter can expose.
func exported() map[string]bool {
	ch := make(chan *prometheus.Desc, 200)
	exporter.New(nil, domains.All(slog.New(slog.DiscardHandler), nil)...).Describe(ch)
	(&store.Store{}).Describe(ch)
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{"up": true, "certstatus_exporter_build_info": true}
	for d := range ch {
		n := fq.FindStringSubmatch(d.String())[1]
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			names[n+suffix] = true
		}
	}
	return names
}

var (
	metricToken = regexp.MustCompile(`\b(certstatus_[a-z0-9_]+|up)\b`)
	grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$replica", "replica-1", "$origin", "origin-1")
)

func TestDashboardsQueryOnlyRealMetricsAndParse(t *testing.T) {
	names := exported()
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard-queries\n    rules:\n")
	n := 0
	for file, d := range loadDashboards(t) {
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
		}
		if !vars["datasource"] {
			t.Errorf("%s: no datasource variable", file)
		}
		if file != "certstatus-origin.json" && !vars["replica"] || file != "certstatus-replica.json" && !vars["origin"] {
			t.Errorf("%s: variables %v, want replica and/or origin", file, vars)
		}
		for _, p := range allPanels(d.Panels) {
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: datasource %q, %d targets", file, p.Title, p.Datasource.UID, len(p.Targets))
			}
			for _, tg := range p.Targets {
				for _, m := range metricToken.FindAllString(tg.Expr, -1) {
					if !names[m] {
						t.Errorf("%s: panel %q queries %s, which the exporter does not expose", file, p.Title, m)
					}
				}
				n++
				fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", n, grafanaVars.Replace(tg.Expr))
			}
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if testing.Short() {
			t.Skip("promtool not installed")
		}
		t.Fatal("promtool not found: run make deps")
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("dashboard PromQL does not parse: %v\n%s", err, out)
	}
	t.Logf("%d dashboard queries checked", n)
}
