package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// The compliance probes against two real responders: cfssl ocspserve (the
// lab's origins, GET and POST) and openssl's own `openssl ocsp -index`
// over the same inventory. 1000 certificates make it all but certain that
// some request holds "//" (about 0.5% do), so those checks ask about a
// certificate the responder answers good for.
func TestComplianceAgainstCfsslAndOpenSSL(t *testing.T) {
	lab := labtest.Up(t)
	lab.Run(t, "bulk", "1000")
	opensslURL := lab.OpenSSLResponder(t)
	e := lab.Env
	reg := startExporter(t, labConfig(t, lab, fmt.Sprintf(`ocsp:
  interval: 2s
  timeout: 1s
  compliance_interval: 10s
  issuers: [%q]
  sources:
    - name: certdb
      type: sql
      dsn: %q
      password_file: %s
      query: "SELECT pem, issued_at FROM certificates"
  origins:
    - {name: origin-1, url: %q, method: GET}
    - {name: origin-2, url: %q, method: POST}
    - {name: openssl, url: %q, method: POST, concurrency: 1}
`, e["LAB_ISSUER"], e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"], e["LAB_ORIGIN1_URL"], e["LAB_ORIGIN2_URL"], opensslURL)))
	origins := []string{"origin-1", "origin-2", "openssl"}

	// Every check has run at every responder once certificates are known
	// good there (the first round, before any answer, skips sha256_certid).
	eventually(t, 2*time.Minute, "every check ran at every responder", func() error {
		for _, o := range origins {
			for _, chk := range canary.Checks() {
				if _, ok := value(t, reg, "certstatus_ocsp_compliance_passed", "origin", o, "check", chk.String()); !ok {
					return fmt.Errorf("%s: %s has not run", o, chk)
				}
			}
		}
		return nil
	})
	results := lastResults(t, reg)
	var table strings.Builder
	for _, o := range origins {
		for _, chk := range canary.Checks() {
			passed := must(t, reg, "certstatus_ocsp_compliance_passed", "origin", o, "check", chk.String())
			fmt.Fprintf(&table, "%-9s %-21s %-18s passed=%v\n", o, chk, results[o+"/"+chk.String()], passed)
		}
	}
	t.Logf("compliance results:\n%s", table.String())

	// BR 4.9.10: no responder says good for a serial never issued.
	for _, o := range origins {
		for _, chk := range []string{"unissued_serial_get", "unissued_serial_post"} {
			if r := results[o+"/"+chk]; r == "good" || r == "" {
				t.Errorf("%s %s: %q, want a non-good answer", o, chk, r)
			}
		}
	}
	// Each check tells the two implementations apart, so none is a rubber
	// stamp. openssl looks a request up by serial and hashes the issuer with
	// the request's algorithm, and does not clean its path. cfssl v1.6.5
	// keys its certdb on the SHA-1 key hash (SHA-256: unauthorized) and
	// routes through Go's ServeMux, which redirects a path holding "//"
	// (raw or %2F-encoded) to the collapsed one (301: http_error).
	for key, want := range map[string]string{
		"openssl/sha256_certid": "good", "origin-2/sha256_certid": "unauthorized",
		"origin-2/get_slash": "http_error", "origin-2/get_slash_encoded": "http_error",
	} {
		if r := results[key]; r != want {
			t.Errorf("%s: %q, want %q", key, r, want)
		}
	}
	// (good when one of the certificates has a "//" request, as all but
	// 0.7% of labs do; unknown for a random serial otherwise.)
	for _, chk := range []string{"get_slash", "get_slash_encoded", "get_plus", "get_plus_encoded"} {
		if v := must(t, reg, "certstatus_ocsp_compliance_passed", "origin", "openssl", "check", chk); v != 1 {
			t.Errorf("openssl %s: %q, want passed", chk, results["openssl/"+chk])
		}
	}
}

// lastResults maps origin/check to the result of its last answer.
func lastResults(t *testing.T, reg prometheus.Gatherer) map[string]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, mf := range mfs {
		if mf.GetName() != "certstatus_ocsp_compliance_last_result" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[l["origin"]+"/"+l["check"]] = l["result"]
		}
	}
	return out
}
