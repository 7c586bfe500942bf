package canary

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

func (p *testPKI) leafDER(t testing.TB, serial int64, precert bool) []byte {
	return p.Leaf(t, serial, precert)
}

func TestParseIssued(t *testing.T) {
	p := newTestPKI(t)
	stranger, _ := ocsp.NewIssuer(p.Stranger)
	issuers := []*ocsp.Issuer{stranger, p.issuer}
	der := p.leafDER(t, 77, false)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, raw := range map[string][]byte{"DER": der, "PEM": pemBytes} {
		c, err := ParseIssued(raw, issuers, time.Time{})
		if err != nil || c.Issuer != 1 || c.Serial.Int64() != 77 || c.Kind != KindCertificate {
			t.Errorf("%s: %+v, %v; want issuer 1, serial 77, certificate", name, c, err)
		}
	}
	at := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)
	c, err := ParseIssued(p.leafDER(t, 78, true), issuers, at)
	if err != nil || c.Kind != KindPrecertificate || !c.IssuedAt.Equal(at) {
		t.Errorf("precertificate: %+v, %v; want kind precertificate issued at %v", c, err, at)
	}
	if _, err := ParseIssued(der, []*ocsp.Issuer{stranger}, time.Time{}); reasonOf(err) != SourceErrUnknownIssuer {
		t.Errorf("unknown issuer: %v", err)
	}
	for _, bad := range [][]byte{[]byte("garbage"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), nil} {
		if _, err := ParseIssued(bad, issuers, time.Time{}); reasonOf(err) != SourceErrUnparseable {
			t.Errorf("ParseIssued(%q) = %v; want unparseable", bad, err)
		}
	}
}

func reasonOf(err error) string {
	if ce, ok := err.(*CertError); ok {
		return ce.Reason
	}
	return ""
}

func TestDirSourceNewChangedGone(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	write("a.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.leafDER(t, 1, false)}))
	write("b.der", p.leafDER(t, 2, true))
	write(".hidden", []byte("ignored"))
	src := NewDirSource(dir)
	ctx := context.Background()
	found, err := src.Fetch(ctx)
	if err != nil || len(found) != 2 {
		t.Fatalf("first fetch: %d files, %v; want 2", len(found), err)
	}
	if found, _ := src.Fetch(ctx); len(found) != 0 {
		t.Errorf("second fetch returned %d files; want none new", len(found))
	}
	write("c.pem", []byte("not a certificate"))
	found, _ = src.Fetch(ctx)
	if len(found) != 1 || found[0].ID != "c.pem" {
		t.Errorf("third fetch: %v; want only c.pem", found)
	}
	if err := os.Remove(filepath.Join(dir, "a.pem")); err != nil {
		t.Fatal(err)
	}
	_, _ = src.Fetch(ctx)
	if _, ok := src.seen["a.pem"]; ok || len(src.seen) != 2 {
		t.Errorf("seen = %v; a removed file must be forgotten", src.seen)
	}
	// Read-only: the files are untouched.
	if st, err := os.Stat(filepath.Join(dir, "b.der")); err != nil || st.Mode().Perm() != 0o444 {
		t.Errorf("b.der changed: %v %v", st.Mode(), err)
	}
}
