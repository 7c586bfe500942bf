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
	ds, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range ds {
		want, err := Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dashboards/%s is stale: run go run ./dashboards/gen", name)
		}
	}
}

type panel struct {
	Type       string
	Title      string
	Datasource struct{ UID string }
	Targets    []struct {
		Expr       string
		Datasource struct{ UID string }
	}
	Panels []panel
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
	want, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("want %d dashboards, found %v", len(want), files)
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
	grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$replica", "replica-1", "$origin", "origin-1",
		"$job", "certstatus", "$instance", "127.0.0.1:9415")
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
		for _, want := range []string{"datasource", "job", "instance"} {
			if !vars[want] {
				t.Errorf("%s: no %s variable", file, want)
			}
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
				if tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s: panel %q: a query's datasource is %q", file, p.Title, tg.Datasource.UID)
				}
				if !strings.Contains(tg.Expr, `job=~"$job",instance=~"$instance"`) {
					t.Errorf("%s: panel %q: query not scoped to $job and $instance: %s", file, p.Title, tg.Expr)
				}
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

// The fleet dashboard ranks replicas by time to WAL loss, soonest first.
func TestFleetHasReplicasByETATable(t *testing.T) {
	raw, err := os.ReadFile("../certstatus-fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type, Title string
			Targets     []struct {
				Expr    string
				Instant bool
				Format  string
			}
			Transformations []struct{ ID string }
			Options         struct {
				SortBy []struct {
					DisplayName string
					Desc        bool
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Title != "Replicas by WAL-loss ETA" {
			continue
		}
		if p.Type != "table" || len(p.Targets) == 0 || !strings.HasPrefix(p.Targets[0].Expr, "certstatus_replica_wal_loss_eta_seconds{") {
			t.Fatalf("ETA table: type %q, targets %+v", p.Type, p.Targets)
		}
		for _, tg := range p.Targets {
			if !tg.Instant || tg.Format != "table" {
				t.Errorf("ETA table query %q: instant %v format %q, want an instant table query", tg.Expr, tg.Instant, tg.Format)
			}
		}
		if len(p.Transformations) == 0 || p.Transformations[0].ID != "merge" {
			t.Errorf("ETA table: transformations %+v, want merge first (one row per replica)", p.Transformations)
		}
		if len(p.Options.SortBy) != 1 || p.Options.SortBy[0].DisplayName != "Time to WAL loss" || p.Options.SortBy[0].Desc {
			t.Errorf("ETA table sorted by %+v, want ascending time to WAL loss", p.Options.SortBy)
		}
		return
	}
	t.Fatal("fleet dashboard has no \"Replicas by WAL-loss ETA\" panel")
}

// Counts of certificates link to the exporter's list of their serials.
func TestCertificateCountsLinkToTheIncidentView(t *testing.T) {
	for file, want := range map[string][]string{
		"certstatus-fleet.json":  {"Overdue certificates", "Pending certificates"},
		"certstatus-origin.json": {"Overdue", "Pending"},
	} {
		raw, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title       string
				FieldConfig struct {
					Defaults struct {
						Links []struct{ URL string }
					}
				}
			}
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for _, title := range want {
			found := false
			for _, p := range d.Panels {
				if p.Title != title {
					continue
				}
				found = true
				section := strings.ToLower(strings.Fields(title)[0])
				if l := p.FieldConfig.Defaults.Links; len(l) != 1 || l[0].URL != "http://${__field.labels.instance}/status#"+section {
					t.Errorf("%s: %q links %+v, want the instance's /status#%s", file, title, l, section)
				}
			}
			if !found {
				t.Errorf("%s: no panel %q", file, title)
			}
		}
	}
}
