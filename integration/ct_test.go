package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/internal/view"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/store"
)

// ctEnv brings the lab's CT log up (lab/ct.sh) and reads its settings.
func ctEnv(t *testing.T, lab *labtest.Lab) map[string]string {
	t.Helper()
	lab.Run(t, "ct", "up")
	f, err := os.Open(filepath.Join(lab.Dir(), "ct", "ct.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		if k, v, ok := strings.Cut(s.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// ctIssue issues n certificates through the lab CA and its CT log; flags
// skip steps (-skip-db, -skip-ocsp). Returns the serials (decimal).
func ctIssue(t *testing.T, lab *labtest.Lab, n int, flags ...string) []string {
	t.Helper()
	out := lab.Run(t, append([]string{"ct", "issue", fmt.Sprint(n)}, flags...)...)
	var serials []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		serials = append(serials, strings.Fields(line)[0])
	}
	if len(serials) != n {
		t.Fatalf("ct issue printed %q", out)
	}
	return serials
}

// The canary with a CT log as its only source: certificates are found in
// the log, whether or not the CA database has them (seed 002), checked at
// both origins, and those without an OCSP answer become overdue.
func TestCTSourceFindsWhatTheCADatabaseMisses(t *testing.T) {
	lab := labtest.Up(t)
	ct := ctEnv(t, lab)
	const sla = 20 * time.Second
	reg := startExporter(t, labConfig(t, lab, fmt.Sprintf(`ocsp:
  interval: 2s
  timeout: 1500ms
  sla: %s
  issuers: [%q]
  sources:
    - name: ct-lab
      type: ct
      url: %q
      api: static
      public_key: %s
      origin: %q
      start: latest
  origins:
    - {name: origin-1, url: %q, method: POST}
    - {name: origin-2, url: %q, method: POST}
`, sla, lab.Env["LAB_ISSUER"], ct["LAB_CT_READ_URL"], ct["LAB_CT_PUBLIC_KEY"], ct["LAB_CT_ORIGIN"],
		lab.Env["LAB_ORIGIN1_URL"], lab.Env["LAB_ORIGIN2_URL"])))

	// start: latest is the tree at the first read; wait for it, so what is
	// issued next is after it.
	eventually(t, 10*time.Second, "first read of the log", func() error {
		if _, ok := value(t, reg, "certstatus_ct_log_position", "source", "ct-lab"); !ok {
			return fmt.Errorf("no position yet")
		}
		return nil
	})
	position := must(t, reg, "certstatus_ct_log_position", "source", "ct-lab")

	ctIssue(t, lab, 5)                           // the normal path: CA DB, OCSP row, CT
	ctIssue(t, lab, 1, "-skip-db", "-skip-ocsp") // seed 002: only in CT
	ctIssue(t, lab, 1, "-skip-ocsp")             // seed 000/001: no OCSP row
	issued := time.Now()

	eventually(t, 15*time.Second, "all 7 found in CT (precertificate and certificate each)", func() error {
		for _, kind := range []string{"certificate", "precertificate"} {
			if v := must(t, reg, "certstatus_certificates_discovered_total", "source", "ct-lab", "kind", kind); v != 7 {
				return fmt.Errorf("%s discovered = %v, want 7", kind, v)
			}
		}
		if v := must(t, reg, "certstatus_ocsp_tracked_certificates"); v != 7 {
			return fmt.Errorf("tracked = %v, want 7 (a precertificate and its certificate share a serial)", v)
		}
		return nil
	})
	if v := must(t, reg, "certstatus_ct_log_entries_matched_total", "source", "ct-lab"); v != 14 {
		t.Errorf("matched %v entries, want 14", v)
	}
	if v := must(t, reg, "certstatus_ct_log_position", "source", "ct-lab"); v != position+14 {
		t.Errorf("position %v, want %v", v, position+14)
	}
	if v := must(t, reg, "certstatus_ct_log_entries_behind", "source", "ct-lab"); v != 0 {
		t.Errorf("%v entries behind, want 0", v)
	}
	eventually(t, 10*time.Second, "5 authoritative at both origins", func() error {
		for _, o := range []string{"origin-1", "origin-2"} {
			if _, a, _ := certStates(t, reg, o); a != 5 {
				return fmt.Errorf("%s: %v authoritative", o, a)
			}
		}
		return nil
	})
	// Overdue once the SLA has passed since publication (the CT timestamp),
	// within two intervals more.
	eventually(t, time.Until(issued.Add(sla))+3*2*time.Second, "2 overdue at both origins", func() error {
		for _, o := range []string{"origin-1", "origin-2"} {
			if err := wantStates(t, reg, o, 5, 2); err != nil {
				return err
			}
		}
		return nil
	})
	for _, r := range []string{"bad_signature", "inconsistent", "fetch"} {
		if v := must(t, reg, "certstatus_ct_log_errors_total", "source", "ct-lab", "reason", r); v != 0 {
			t.Errorf("errors{reason=%s} = %v", r, v)
		}
	}
	metrictest.PromtoolCheckMetrics(t, metrictest.Text(t, reg))
}

// The log down while the exporter runs (counted as fetch errors), the
// exporter restarted while the log is back and growing: the persisted
// position resumes exactly, so nothing logged meanwhile is missed (with
// start: latest, a lost position would skip it).
func TestCTSourceResumesAfterLogOutageAndRestart(t *testing.T) {
	lab := labtest.Up(t)
	ctl := ctEnv(t, lab)
	cfg := labConfig(t, lab, fmt.Sprintf(`ocsp:
  interval: 1s
  timeout: 800ms
  issuers: [%q]
  sources:
    - {name: ct-lab, type: ct, url: %q, public_key: %s, origin: %q, start: latest}
  origins:
    - {name: origin-2, url: %q, method: POST}
`, lab.Env["LAB_ISSUER"], ctl["LAB_CT_READ_URL"], ctl["LAB_CT_PUBLIC_KEY"], ctl["LAB_CT_ORIGIN"], lab.Env["LAB_ORIGIN2_URL"]))
	dir := t.TempDir()
	start := func() (*exporter.Exporter, *store.Store, *prometheus.Registry) {
		st := store.Open(dir, promslog.NewNopLogger())
		exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), st)...)
		exp.ApplyConfig(cfg)
		return exp, st, exporter.NewRegistry(exp)
	}
	discovered := func(reg prometheus.Gatherer) float64 {
		v, _ := value(t, reg, "certstatus_certificates_discovered_total", "source", "ct-lab", "kind", "certificate")
		return v
	}

	exp, st, reg := start()
	eventually(t, 10*time.Second, "first read of the log", func() error {
		if _, ok := value(t, reg, "certstatus_ct_log_position", "source", "ct-lab"); !ok {
			return fmt.Errorf("no position yet")
		}
		return nil
	})
	first := must(t, reg, "certstatus_ct_log_position", "source", "ct-lab")
	ctIssue(t, lab, 3)
	eventually(t, 10*time.Second, "3 found", func() error {
		if v := discovered(reg); v != 3 {
			return fmt.Errorf("discovered %v", v)
		}
		return nil
	})

	lab.Run(t, "ct", "down")
	t.Cleanup(func() { lab.Run(t, "ct", "up") })
	eventually(t, 10*time.Second, "the outage counted", func() error {
		if v := must(t, reg, "certstatus_ct_log_errors_total", "source", "ct-lab", "reason", "fetch"); v < 1 {
			return fmt.Errorf("fetch errors %v", v)
		}
		if v, _ := value(t, reg, "certstatus_certificate_source_up", "source", "ct-lab"); v != 0 {
			return fmt.Errorf("source up %v", v)
		}
		return nil
	})
	exp.Stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	lab.Run(t, "ct", "up")
	ctIssue(t, lab, 4) // logged while the exporter is down

	exp, st, reg = start()
	t.Cleanup(func() { exp.Stop(); _ = st.Close() })
	eventually(t, 15*time.Second, "the 4 logged meanwhile found after the restart", func() error {
		if v := discovered(reg); v != 4 {
			return fmt.Errorf("discovered %v, want 4", v)
		}
		if v := must(t, reg, "certstatus_ct_log_position", "source", "ct-lab"); v != first+14 {
			return fmt.Errorf("position %v, want %v", v, first+14)
		}
		return nil
	})
	if v := must(t, reg, "certstatus_ct_log_entries_read_total", "source", "ct-lab"); v != 8 {
		t.Errorf("read %v entries after the restart, want exactly the 8 new ones", v)
	}
}

// The issue's scenario: 1,000 certificates with precertificates issued at a
// steady rate through the lab CA and its CT log; one, chosen at random and
// not revealed before the end, never reaches the CA database (nor gets an
// OCSP row: seed 002), another gets no OCSP row (seed 000). With the CT log
// and the CA database (the inventory) as sources, the first is missing from
// the inventory and both are overdue at every origin within SLA + 2
// intervals of their publication; the other 998 are authoritative and
// accounted for: no false positive.
func TestCT1000WithTwoMissing(t *testing.T) {
	lab := labtest.Up(t)
	ctl := ctEnv(t, lab)
	const (
		n        = 1000
		sla      = 30 * time.Second
		interval = 3 * time.Second
		grace    = 10 * time.Second
	)
	e := lab.Env
	// The inventory query reads only what this test issues (earlier tests'
	// certificates without OCSP rows would be overdue too).
	since := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(labConfig(t, lab, fmt.Sprintf(`ocsp:
  interval: %s
  timeout: 2s
  sla: %s
  inventory_grace: %s
  issuers: [%q]
  sources:
    - {name: ct-lab, type: ct, url: %q, public_key: %s, origin: %q, start: latest}
    - name: certdb
      type: sql
      inventory: true
      dsn: %q
      password_file: %s
      query: "SELECT pem, issued_at FROM certificates WHERE issued_at > '%s+00' AND issued_at > $1 ORDER BY issued_at LIMIT 10000"
  origins:
    - {name: origin-1, url: %q, method: POST, concurrency: 8}
    - {name: origin-2, url: %q, method: POST, concurrency: 8}
`, interval, sla, grace, e["LAB_ISSUER"], ctl["LAB_CT_READ_URL"], ctl["LAB_CT_PUBLIC_KEY"], ctl["LAB_CT_ORIGIN"],
		e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"], since, e["LAB_ORIGIN1_URL"], e["LAB_ORIGIN2_URL"])))
	t.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp)
	handler, err := exp.Handler(reg, func() error { return nil }, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "first read of the log", func() error {
		if _, ok := value(t, reg, "certstatus_ct_log_position", "source", "ct-lab"); !ok {
			return fmt.Errorf("no position yet")
		}
		return nil
	})

	// Two distinct random places among the 1,000.
	perm := rand.Perm(n)
	noDB, noRow := min(perm[0], perm[1]), max(perm[0], perm[1])
	issue := func(count int, flags ...string) []string {
		if count == 0 {
			return nil
		}
		return ctIssue(t, lab, count, append([]string{"-rate", "40", "-parallel", "64"}, flags...)...)
	}
	issue(noDB)
	first := issue(1, "-skip-db", "-skip-ocsp")[0] // revealed at the end
	issue(noRow - noDB - 1)
	second := issue(1, "-skip-ocsp")[0]
	issue(n - noRow - 1)
	last := time.Now()

	missing := func() float64 {
		sum := 0.0
		for _, k := range []string{"certificate", "precertificate"} {
			v, _ := value(t, reg, "certstatus_inventory_missing_certificates", "source", "ct-lab", "kind", k)
			sum += v
		}
		return sum
	}
	eventually(t, time.Until(last.Add(sla))+2*interval+5*time.Second, "2 overdue and 998 authoritative at both origins, 1 missing from the inventory", func() error {
		if v := must(t, reg, "certstatus_ocsp_tracked_certificates"); v != n {
			return fmt.Errorf("tracked %v, want %d", v, n)
		}
		for _, o := range []string{"origin-1", "origin-2"} {
			if err := wantStates(t, reg, o, n-2, 2); err != nil {
				return err
			}
		}
		if v := missing(); v != 1 {
			return fmt.Errorf("%v missing from the inventory, want 1 (a precertificate and its certificate count once)", v)
		}
		return nil
	})
	if got, want := apiSerials(t, handler, "inventory=missing"), []string{serialHex(t, first)}; !slices.Equal(got, want) {
		t.Errorf("missing from the inventory: %v, want %v", got, want)
	}
	want := []string{serialHex(t, first), serialHex(t, second)}
	slices.Sort(want)
	if got := apiSerials(t, handler, "state=overdue"); !slices.Equal(got, want) {
		t.Errorf("overdue: %v, want %v", got, want)
	}
	for _, o := range []string{"origin-1", "origin-2"} {
		if v := must(t, reg, "certstatus_ocsp_responses_total", "origin", o, "result", "good"); v < n-2 {
			t.Errorf("%s: %v good answers, want at least %d", o, v, n-2)
		}
	}
	t.Logf("not in the CA database: certificate %d of %d (serial %s); without an OCSP row: %d (serial %s)",
		noDB+1, n, first, noRow+1, second)
}

func serialHex(t *testing.T, decimal string) string {
	t.Helper()
	s, ok := new(big.Int).SetString(decimal, 10)
	if !ok {
		t.Fatalf("serial %q", decimal)
	}
	return view.SerialHex(s)
}

// apiSerials lists the serials /api/v1/certificates returns for query, sorted.
func apiSerials(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/certificates?per_page=100&"+query, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
	}
	var out struct {
		Certificates []struct {
			Serial string `json:"serial"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	var serials []string
	for _, c := range out.Certificates {
		serials = append(serials, c.Serial)
	}
	slices.Sort(serials)
	return serials
}
