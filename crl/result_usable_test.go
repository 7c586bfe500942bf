package crl

import "testing"

// A CRL of another shard (IDP mismatch) must not stand in for this shard's;
// one without the extension, or past its limits, still lists revocations.
func TestUsable(t *testing.T) {
	for r, want := range map[Result]bool{ResultOK: true, ResultIDPMismatch: false, ResultIDPMissing: true,
		ResultStale: true, ResultBadSignature: false, ResultParseError: false, ResultDeltaCRL: false} {
		if r.usable() != want {
			t.Errorf("%v usable = %v, want %v", r, !want, want)
		}
	}
}
