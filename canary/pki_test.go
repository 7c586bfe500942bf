package canary

import (
	"log/slog"
	"testing"

	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// testPKI adds the OCSP Issuer to a testpki.PKI.
type testPKI struct {
	*testpki.PKI
	issuer *ocsp.Issuer
}

func newTestPKI(t testing.TB) *testPKI {
	p := testpki.New(t)
	is, err := ocsp.NewIssuer(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{PKI: p, issuer: is}
}

var quiet = slog.New(slog.DiscardHandler)
