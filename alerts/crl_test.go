package alerts

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPromtoolCheckCRLRules(t *testing.T) { promtool(t, "check", "rules", "crl.rules.yml") }

// Every CRL alert has a severity, its annotations, a section in
// docs/runbooks-crl.md and a promtool test that fires it.
func TestEveryCRLAlertHasSeverityRunbookAndFiringTest(t *testing.T) {
	raw, err := os.ReadFile("crl.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile("../docs/runbooks-crl.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range anchor.FindAllStringSubmatch(string(runbooks), -1) {
		sections[strings.ToLower(m[1])] = true
	}
	fired := firedInTests(t)
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			if sev := r.Labels["severity"]; sev != "page" && sev != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, sev)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s", r.Alert, a)
				}
			}
			_, frag, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if frag != strings.ToLower(r.Alert) || !sections[frag] {
				t.Errorf("%s: runbook_url %q has no section in docs/runbooks-crl.md", r.Alert, r.Annotations["runbook_url"])
			}
			if !fired[r.Alert] {
				t.Errorf("%s: no promtool test expects it to fire", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no CRL alerts")
	}
}
