package integration

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// onlyConfig watches exactly the given certificates of the certdb, through a
// query with no time column: the clock is the exporter's own (first seen),
// never the backdated notBefore.
func onlyConfig(lab *labtest.Lab, sla, trackFor time.Duration, certPaths ...string) string {
	var serials []string
	for _, p := range certPaths {
		serials = append(serials, "'"+strings.TrimSuffix(filepath.Base(p), ".pem")+"'::bytea")
	}
	e := lab.Env
	return fmt.Sprintf(`ocsp:
  interval: 1s
  timeout: 1s
  sla: %s
  track_for: %s
  recheck_interval: 2s
  issuers: [%q]
  sources:
    - name: certdb
      type: sql
      dsn: %q
      password_file: %s
      query: "SELECT pem FROM certificates WHERE serial_number IN (%s)"
  origins:
    - {name: origin-1, url: %q, method: POST}
    - {name: origin-2, url: %q, method: POST}
`, sla, trackFor, e["LAB_ISSUER"], e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"], strings.Join(serials, ","),
		e["LAB_ORIGIN1_URL"], e["LAB_ORIGIN2_URL"])
}

func (r *running) states(t *testing.T, origin string) (pending, overdue float64) {
	return r.sample(t, "certstatus_ocsp_certificates", "origin", origin, "state", "pending"),
		r.sample(t, "certstatus_ocsp_certificates", "origin", origin, "state", "overdue")
}

// A CA that backdates notBefore by an hour (as Let's Encrypt does): a
// certificate issued now, from a source with no time column, is pending
// within the SLA and overdue after it — not overdue at once.
func TestBackdatedCertificatePendingThenOverdue(t *testing.T) {
	lab := labtest.Up(t)
	cert := strings.TrimSpace(lab.Run(t, "issue-backdated", "1", "0")) // no OCSP row: never authoritative
	if nb := readCert(t, cert).NotBefore; time.Since(nb) < 59*time.Minute {
		t.Fatalf("notBefore %v is not backdated by an hour", nb)
	}
	const sla = 20 * time.Second
	dir := t.TempDir()
	cfg := filepath.Join(dir, "certstatus.yml")
	writeFile(t, cfg, onlyConfig(lab, sla, time.Hour, cert))
	start := time.Now()
	r := runBinary(t, cfg)
	eventually(t, 15*time.Second, "the certificate tracked and pending", func() error {
		if p, o := r.states(t, "origin-1"); p != 1 || o != 0 {
			return fmt.Errorf("origin-1 pending %v overdue %v", p, o)
		}
		return nil
	})
	if since := time.Since(start); since >= sla {
		t.Fatalf("first pending reading came %v after start, not within the SLA %v: cannot tell pending from overdue", since, sla)
	}
	eventually(t, sla+15*time.Second, "overdue after the SLA", func() error {
		if p, o := r.states(t, "origin-1"); p != 0 || o != 1 {
			return fmt.Errorf("origin-1 pending %v overdue %v", p, o)
		}
		return nil
	})
	if !strings.Contains(r.logs.String(), "provenance=first_seen") {
		t.Error("the log does not say the clock is first_seen")
	}
	if !strings.Contains(r.logs.String(), "certificate overdue") {
		t.Error("no log line for the certificate becoming overdue")
	}
}

// Held until fixed: a certificate without an OCSP row stays overdue after
// track_for has passed (seed 000 went on for 14 days).
func TestViolationHeldPastTrackFor(t *testing.T) {
	lab := labtest.Up(t)
	cert := lab.IssueNoRow(t)
	const sla, trackFor = 5 * time.Second, 15 * time.Second
	cfg := filepath.Join(t.TempDir(), "certstatus.yml")
	writeFile(t, cfg, onlyConfig(lab, sla, trackFor, cert))
	start := time.Now()
	r := runBinary(t, cfg)
	eventually(t, 30*time.Second, "overdue", func() error {
		if _, o := r.states(t, "origin-2"); o != 1 {
			return fmt.Errorf("origin-2 overdue %v", o)
		}
		return nil
	})
	// Twice track_for, and several source polls and origin passes later.
	eventually(t, 2*trackFor+30*time.Second, "past twice track_for", func() error {
		if el := time.Since(start); el < 2*trackFor {
			return fmt.Errorf("only %v elapsed", el)
		}
		return nil
	})
	for _, o := range []string{"origin-1", "origin-2"} {
		if _, over := r.states(t, o); over != 1 {
			t.Errorf("%s: overdue %v after 2x track_for, want 1 (held until fixed)", o, over)
		}
	}
	if n := r.sample(t, "certstatus_ocsp_tracked_certificates"); n != 1 {
		t.Errorf("tracked %v, want 1", n)
	}
}

// kill -9 while one certificate is overdue and another pending: after the
// restart the same states are served at once, because the clocks (first
// seen; the query has no time column) come back from the store.
func TestKill9KeepsStatesAndClocks(t *testing.T) {
	lab := labtest.Up(t)
	old := lab.IssueNoRow(t)
	const sla = 30 * time.Second
	dir := t.TempDir()
	storage := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "certstatus.yml")
	writeFile(t, cfg, onlyConfig(lab, sla, time.Hour, old))
	r := runBinaryStorage(t, cfg, storage)
	eventually(t, sla+20*time.Second, "the first certificate overdue", func() error {
		if p, o := r.states(t, "origin-1"); p != 0 || o != 1 {
			return fmt.Errorf("origin-1 pending %v overdue %v", p, o)
		}
		return nil
	})
	young := lab.IssueNoRow(t)
	writeFile(t, cfg, onlyConfig(lab, sla, time.Hour, old, young))
	if err := postReload(r); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the second certificate pending, persisted", func() error {
		if p, o := r.states(t, "origin-1"); p != 1 || o != 1 {
			return fmt.Errorf("origin-1 pending %v overdue %v", p, o)
		}
		// Everything the state rests on is on disk.
		if n := r.sample(t, "certstatus_ocsp_unpersisted_changes"); n != 0 {
			return fmt.Errorf("%v changes not yet written", n)
		}
		return nil
	})
	killedAt := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()

	r2 := runBinaryStorage(t, cfg, storage)
	p, o := r2.states(t, "origin-1")
	since := time.Since(killedAt)
	if p != 1 || o != 1 {
		t.Errorf("right after restart (%v after kill -9): pending %v overdue %v, want 1 and 1", since, p, o)
	}
	if !strings.Contains(r2.logs.String(), "restored=2") {
		t.Errorf("the restart did not restore 2 certificates:\n%s", r2.logs.String())
	}
	t.Logf("restart %v after kill -9: pending %v, overdue %v", since.Round(time.Millisecond), p, o)
}

func postReload(r *running) error {
	resp, err := http.Post(r.url+"/-/reload", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reload: %s", resp.Status)
	}
	return nil
}
