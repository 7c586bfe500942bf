package integration

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/ocsp"
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
	// within 2 intervals of being found. (origin-1 is asked by GET: if the
	// request's base64 holds "//", cfssl answers 400; see getClean.)
	a := getClean(t, lab, lab.Issue(t))
	eventually(t, 2*2*time.Second+3*time.Second, "authoritative at both origins", func() error {
		if err := wantStates(t, reg, "origin-1", a, 0); err != nil {
			return err
		}
		if v, _ := value(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-1", "result", "http_error"); a == 0 && v < 1 {
			return fmt.Errorf("origin-1 has not yet answered A's broken GET")
		}
		for _, o := range []string{"origin-2", "cdn"} {
			if err := wantStates(t, reg, o, 1, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if n := must(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-2", "result", "good"); n < 1 {
		t.Errorf("origin-2 (POST) good answers = %v", n)
	}
	if a == 1 {
		if n := must(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-1", "result", "good"); n < 1 {
			t.Errorf("origin-1 (GET) good answers = %v", n)
		}
		assertHistogramCount(t, reg, "certstatus_ocsp_time_to_authoritative_seconds", "origin-1", 1)
	}
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
	b := getClean(t, lab, lab.Issue(t))
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
		// origin-1 has had a pass since all three were found.
		if p, _, _ := certStates(t, reg, "origin-1"); p != 3 {
			return fmt.Errorf("origin-1 pending = %v, want 3", p)
		}
		return wantStates(t, reg, "origin-1", a, 0)
	})
	if v := must(t, reg, "certstatus_ocsp_responses_total", "origin", "origin-1", "result", "unauthorized"); b == 1 && v <= unauthorizedBefore {
		t.Errorf("origin-1 unauthorized answers did not grow (%v) while its replica was paused", v)
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
		if err := wantStates(t, reg, "origin-1", a, 3+1-a); err != nil { // B, C, D (and A if its GET broke)
			return err
		}
		return wantStates(t, reg, "origin-2", 2, 2) // C, D
	})

	resume()
	eventually(t, 3*2*time.Second, "B authoritative at origin-1 after resume", func() error {
		return wantStates(t, reg, "origin-1", a+b, 2+(1-a)+(1-b))
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
	metrictest.PromtoolCheckMetrics(t, metrictest.Text(t, reg))
}

// getClean is 1 when the GET request for this certificate reaches cfssl
// intact, 0 when its base64 holds "//", which Go's ServeMux (under cfssl
// ocspserve) cleans away, so the origin answers 400 whatever the database says.
func getClean(t *testing.T, lab *labtest.Lab, certPath string) float64 {
	t.Helper()
	issuer, err := ocsp.NewIssuer(readCert(t, lab.Env["LAB_ISSUER"]))
	if err != nil {
		t.Fatal(err)
	}
	der, err := issuer.Request(readCert(t, certPath).SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.TrimPrefix(ocsp.GetURL("http://x/", der), "http://x/")
	if decoded, _ := url.PathUnescape(seg); strings.Contains(decoded, "//") {
		t.Logf("%s: its GET request holds // and cfssl will answer 400", certPath)
		return 0
	}
	return 1
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertHistogramCount(t *testing.T, reg prometheus.Gatherer, name, origin string, want uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := metrictest.Find(mfs, name, "origin", origin)
	if m == nil {
		t.Fatalf("%s{origin=%q} absent", name, origin)
	}
	if got := m.GetHistogram().GetSampleCount(); got != want {
		t.Errorf("%s{origin=%q} count = %d, want %d", name, origin, got, want)
	}
}

// cfssl ocspserve runs on Go's ServeMux, which cleans "//" out of a path:
// a GET whose base64 holds "//" is answered 400, while the same request by
// POST gets a real OCSP answer. The canary reports what clients would see.
func TestCfsslGETDoubleSlash(t *testing.T) {
	lab := labtest.Up(t)
	issuer, err := ocsp.NewIssuer(readCert(t, lab.Env["LAB_ISSUER"]))
	if err != nil {
		t.Fatal(err)
	}
	var serial *big.Int
	for i := int64(1); serial == nil && i < 1<<20; i++ {
		s := new(big.Int).Lsh(big.NewInt(i), 96)
		der, _ := issuer.Request(s)
		if seg, _ := url.PathUnescape(strings.TrimPrefix(ocsp.GetURL("http://x/", der), "http://x/")); strings.Contains(seg, "//") {
			serial = s
		}
	}
	if serial == nil {
		t.Fatal("no serial with // in its GET form found")
	}
	ask := func(method string) ocsp.Outcome {
		c := &ocsp.Client{URL: lab.Env["LAB_ORIGIN1_URL"], Method: method, HTTP: &http.Client{Timeout: 2 * time.Second}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return c.Check(ctx, issuer, serial, time.Now)
	}
	if r := ask(http.MethodGet); r.Result != ocsp.ResultHTTPError || r.Detail != "HTTP status 400" {
		t.Errorf("GET: %s (%s); want http_error, HTTP status 400", r.Result, r.Detail)
	}
	if r := ask(http.MethodPost); r.Result != ocsp.ResultUnauthorized {
		t.Errorf("POST: %s (%s); want unauthorized (the serial is in no database)", r.Result, r.Detail)
	}
}
