package canary

import (
	"crypto/rand"
	"slices"
	"testing"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

func TestCheckNamesAreDistinctAndBounded(t *testing.T) {
	var names []string
	for _, c := range Checks() {
		if n := c.String(); n == "invalid" || slices.Contains(names, n) {
			t.Errorf("check %d has name %q", c, n)
		}
		names = append(names, c.String())
	}
	if len(names) != 8 || checkCount.String() != "invalid" {
		t.Errorf("checks %v", names)
	}
}

// The rules, answer by answer.
func TestCheckPassed(t *testing.T) {
	good, revoked, unknown, unauth := ocsp.ResultGood, ocsp.ResultRevoked, ocsp.ResultUnknown, ocsp.ResultUnauthorized
	httpErr, timeout, malformed := ocsp.ResultHTTPError, ocsp.ResultTimeout, ocsp.ResultMalformedRequest
	for _, tc := range []struct {
		check  Check
		result ocsp.Result
		known  bool
		want   bool
	}{
		{CheckUnissuedGet, good, false, false},
		{CheckUnissuedPost, good, false, false},
		{CheckUnissuedGet, unknown, false, true},
		{CheckUnissuedGet, unauth, false, true},
		{CheckUnissuedPost, revoked, false, true},
		{CheckUnissuedGet, httpErr, false, true}, // not a 4.9.10 violation; the canary reports it
		{CheckSHA256CertID, good, true, true},
		{CheckSHA256CertID, revoked, true, true},
		{CheckSHA256CertID, unauth, true, false},
		{CheckSHA256CertID, malformed, true, false},
		{CheckGetSlash, good, true, true},
		{CheckGetSlash, unauth, true, false}, // a certificate it answers good for otherwise
		{CheckGetSlash, unauth, false, true}, // a random serial: understood
		{CheckGetSlashEncoded, httpErr, false, false},
		{CheckGetPlus, malformed, false, false},
		{CheckGetPlusEncoded, unknown, false, true},
		{CheckResponseTime, good, true, true},
		{CheckResponseTime, httpErr, true, true},
		{CheckResponseTime, timeout, true, false},
	} {
		if got := tc.check.Passed(tc.result, tc.known); got != tc.want {
			t.Errorf("%s, %s, known %v: passed %v, want %v", tc.check, tc.result, tc.known, got, tc.want)
		}
	}
}

// One unissued serial per issuer, each asked of its own issuer.
func TestPlanAsksEveryIssuer(t *testing.T) {
	a, b := newTestPKI(t), newTestPKI(t)
	tr := NewTracker(1, 10)
	p := makePlan([]*ocsp.Issuer{a.issuer, b.issuer}, tr.ComplianceSample(0, 2, 10), rand.Reader)
	for _, chk := range []Check{CheckUnissuedGet, CheckUnissuedPost} {
		ts := p[chk]
		if len(ts) != 2 || ts[0].issuer != 0 || ts[1].issuer != 1 {
			t.Errorf("%s targets %+v, want one per issuer", chk, ts)
		}
	}
	if len(p[CheckSHA256CertID]) != 0 {
		t.Errorf("sha256_certid planned with nothing known good")
	}
}
