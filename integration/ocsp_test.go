package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// ocspConfig: the certdb on the primary as an sql source (only certificates
// issued from now on, so earlier tests' certificates do not count), a spool
// folder, origin-1 asked with GET, origin-2 with POST, and origin-1 again
// through POST marked as the CDN.
func ocspConfig(t *testing.T, lab *labtest.Lab, spool string, sla time.Duration) string {
	e := lab.Env
	since := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
	return fmt.Sprintf(`ocsp:
  interval: 2s
  timeout: 1s
  sla: %s
  recheck_interval: 10s
  issuers: [%q]
  sources:
    - name: certdb
      type: sql
      dsn: %q
      password_file: %s
      query: "SELECT pem, issued_at FROM certificates WHERE issued_at > '%s+00'"
    - name: spool
      type: dir
      path: %s
  origins:
    - {name: origin-1, url: %q, method: GET}
    - {name: origin-2, url: %q, method: POST}
    - {name: cdn, url: %q, method: POST, host: ocsp.lab.example, cdn: true}
`, sla, e["LAB_ISSUER"], e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"], since, spool,
		e["LAB_ORIGIN1_URL"], e["LAB_ORIGIN2_URL"], e["LAB_ORIGIN1_URL"])
}

func certStates(t *testing.T, reg prometheus.Gatherer, origin string) (pending, auth, overdue float64) {
	t.Helper()
	pending, _ = value(t, reg, "certstatus_ocsp_certificates", "origin", origin, "state", "pending")
	auth, _ = value(t, reg, "certstatus_ocsp_certificates", "origin", origin, "state", "authoritative")
	overdue, _ = value(t, reg, "certstatus_ocsp_certificates", "origin", origin, "state", "overdue")
	return
}

func wantStates(t *testing.T, reg prometheus.Gatherer, origin string, auth, overdue float64) error {
	_, a, o := certStates(t, reg, origin)
	if a != auth || o != overdue {
		return fmt.Errorf("%s: %v authoritative, %v overdue; want %v, %v", origin, a, o, auth, overdue)
	}
	return nil
}

// The OCSP canary against cfssl origins reading the lab's replicas.
func TestOCSPCanary(t *testing.T) {
	lab := labtest.Up(t)
	spool := t.TempDir()
	const sla = 30 * time.Second
	reg := startExporter(t, labConfig(t, lab, ocspConfig(t, lab, spool, sla)))

	// 1. A certificate issued in the lab is authoritative at both origins
	// within 2 intervals of being found.
	lab.Issue(t)
	eventually(t, 2*2*time.Second+3*time.Second, "authoritative at both origins", func() error {
		for _, o := range []string{"origin-1", "origin-2", "cdn"} {
			if err := wantStates(t, reg, o, 1, 0); err != nil {
				return err
			}
		}
		return nil
	})
	for _, o := range []string{"origin-1", "origin-2"} {
		if n := must(t, reg, "certstatus_ocsp_responses_total", "origin", o, "result", "good"); n < 1 {
			t.Errorf("%s good answers = %v", o, n)
		}
	}
	assertHistogramCount(t, reg, "certstatus_ocsp_time_to_authoritative_seconds", "origin-1", 1)
	assertHistogramCount(t, reg, "certstatus_ocsp_time_to_authoritative_seconds", "origin-2", 1)
	if v := must(t, reg, "certstatus_certificates_discovered_total", "source", "certdb", "kind", "certificate"); v != 1 {
		t.Errorf("certdb discovered %v certificates, want 1", v)
	}

	// 2 and 3. Replay paused on replica-1; then a certificate (B), one
	// without its OCSP row (C), and a precertificate only in the spool (D).
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	resumed := false
	resume := func() {
		if !resumed {
			lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")
			resumed = true
		}
	}
	t.Cleanup(resume)
	issuedAt := time.Now()
	lab.Issue(t)
	lab.IssueNoRow(t)
	lab.Precert(t, spool)
	unauthorizedBefore := must(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-1", "result", "unauthorized")
	eventually(t, 10*time.Second, "all three found, B good at origin-2 only", func() error {
		if v, _ := value(t, reg, "certstatus_certificates_discovered_total", "source", "spool", "kind", "precertificate"); v != 1 {
			return fmt.Errorf("spool precertificates discovered = %v", v)
		}
		if v := must(t, reg, "certstatus_ocsp_tracked_certificates"); v != 4 {
			return fmt.Errorf("tracked = %v, want 4", v)
		}
		if err := wantStates(t, reg, "origin-2", 2, 0); err != nil {
			return err
		}
		return wantStates(t, reg, "origin-1", 1, 0)
	})
	if v := must(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-1", "result", "unauthorized"); v <= unauthorizedBefore {
		t.Errorf("origin-1 unauthorized answers did not grow (%v) while its replica was paused", v)
	}
	if p, _, _ := certStates(t, reg, "origin-1"); p != 3 {
		t.Errorf("origin-1 pending = %v within the SLA, want 3", p)
	}
	// The CDN (origin-1 under another name) disagrees with origin-2 on B,
	// once its own pass has compared them.
	eventually(t, 2*2*time.Second, "cdn disagrees on B", func() error {
		if v := must(t, reg, "certstatus_ocsp_cdn_disagreements", "origin", "cdn", "kind", "status"); v != 1 {
			return fmt.Errorf("cdn status disagreements = %v, want 1 (B)", v)
		}
		return nil
	})

	time.Sleep(time.Until(issuedAt.Add(sla)))
	eventually(t, 3*2*time.Second, "overdue after the SLA", func() error {
		if err := wantStates(t, reg, "origin-1", 1, 3); err != nil { // B, C, D
			return err
		}
		return wantStates(t, reg, "origin-2", 2, 2) // C, D
	})

	resume()
	eventually(t, 3*2*time.Second, "B authoritative at origin-1 after resume", func() error {
		return wantStates(t, reg, "origin-1", 2, 2)
	})
	eventually(t, 2*2*time.Second, "cdn agrees again", func() error {
		if v := must(t, reg, "certstatus_ocsp_cdn_disagreements", "origin", "cdn", "kind", "status"); v != 0 {
			return fmt.Errorf("cdn status disagreements = %v after resume, want 0", v)
		}
		return nil
	})
	for _, o := range []string{"origin-1", "origin-2"} {
		if v := must(t, reg, "certstatus_ocsp_origin_up", "origin", o); v != 1 {
			t.Errorf("%s up = %v", o, v)
		}
		must(t, reg, "certstatus_ocsp_oldest_this_update_timestamp_seconds", "origin", o)
	}
}

func assertHistogramCount(t *testing.T, reg prometheus.Gatherer, name, origin string, want uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelValue(m, "origin") == origin {
				if got := m.GetHistogram().GetSampleCount(); got != want {
					t.Errorf("%s{origin=%q} count = %d, want %d", name, origin, got, want)
				}
				return
			}
		}
	}
	t.Errorf("%s{origin=%q} absent", name, origin)
}
