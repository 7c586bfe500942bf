// Package alerts checks the rule files: promtool validates and unit-tests
// them, and every alert carries a severity, a summary, a description and a
// runbook that exists.
package alerts

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type ruleFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Alert       string
			Expr        string
			Labels      map[string]string
			Annotations map[string]string
		}
	}
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if testing.Short() {
			t.Skip("promtool not installed (make deps installs it)")
		}
		t.Fatal("promtool not found: run make deps")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ruleFiles are every rule file: one per concern, each with its runbooks.
func ruleFiles(t *testing.T) []string {
	files, _ := filepath.Glob("*.rules.yml")
	if len(files) == 0 {
		t.Fatal("no rule files")
	}
	return files
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool(t, append([]string{"check", "rules"}, ruleFiles(t)...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	tests, _ := filepath.Glob("tests/*.test.yml")
	if len(tests) == 0 {
		t.Fatal("no rule tests")
	}
	promtool(t, append([]string{"test", "rules"}, tests...)...)
}

var anchor = regexp.MustCompile(`(?m)^## (\S+)$`)

func TestEveryAlertHasSeverityRunbookAndFiringTest(t *testing.T) {
	var rf ruleFile
	for _, f := range ruleFiles(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var one ruleFile
		if err := yaml.Unmarshal(raw, &one); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rf.Groups = append(rf.Groups, one.Groups...)
	}
	fired := firedInTests(t)
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			sev := r.Labels["severity"]
			if r.Alert == "Watchdog" {
				if sev != "none" {
					t.Errorf("Watchdog severity %q, want none (it goes to the dead man's switch)", sev)
				}
			} else if sev != "page" && sev != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, sev)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s", r.Alert, a)
				}
			}
			doc, frag, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if frag != strings.ToLower(r.Alert) || !runbookSections(t, path.Base(doc))[frag] {
				t.Errorf("%s: runbook_url %q has no section in docs/%s", r.Alert, r.Annotations["runbook_url"], path.Base(doc))
			}
			if !fired[r.Alert] {
				t.Errorf("%s: no promtool test expects it to fire", r.Alert)
			}
		}
	}
	if alerts < 20 {
		t.Errorf("only %d alerts", alerts)
	}
}

// runbookSections lists the alert sections of docs/<name>.
func runbookSections(t *testing.T, name string) map[string]bool {
	runbooks, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range anchor.FindAllStringSubmatch(string(runbooks), -1) {
		sections[strings.ToLower(m[1])] = true
	}
	return sections
}

// firedInTests lists the alerts some test expects to fire.
func firedInTests(t *testing.T) map[string]bool {
	files, _ := filepath.Glob("tests/*.test.yml")
	fired := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string           `yaml:"alertname"`
					ExpAlerts []map[string]any `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			}
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range doc.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fired[a.Alertname] = true
				}
			}
		}
	}
	return fired
}

// The deploy examples are valid: Prometheus' with this repo's rules, and
// Alertmanager's routing.
func TestDeployConfigs(t *testing.T) {
	raw, err := os.ReadFile("../deploy/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := filepath.Abs("*.rules.yml")
	cfg := strings.Replace(string(raw), "/etc/prometheus/rules/*.rules.yml", rules, 1)
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, "check", "config", path)
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		if testing.Short() {
			t.Skip("amtool not installed")
		}
		t.Fatal("amtool not found: run make deps")
	}
	if out, err := exec.Command(amtool, "check-config", "../deploy/alertmanager.yml").CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}
