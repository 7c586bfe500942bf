package canary

import (
	"context"
	"encoding/pem"
	"errors"
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
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for name, raw := range map[string][]byte{"DER": der, "PEM": pemBytes} {
		c, err := ParseIssued(Found{Raw: raw}, issuers, now)
		if err != nil || c.Issuer != 1 || c.Serial.Int64() != 77 || c.Kind != KindCertificate {
			t.Errorf("%s: %+v, %v; want issuer 1, serial 77, certificate", name, c, err)
		}
		// No clock from the source and no SCT: first seen, never notBefore.
		if !c.PublishedAt.Equal(now) || c.Provenance != ProvenanceFirstSeen {
			t.Errorf("%s: published %v by %v; want now by first_seen", name, c.PublishedAt, c.Provenance)
		}
	}
	at := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)
	c, err := ParseIssued(Found{Raw: p.leafDER(t, 78, true), PublishedAt: at, Provenance: ProvenanceSourceTime}, issuers, now)
	if err != nil || c.Kind != KindPrecertificate || !c.PublishedAt.Equal(at) || c.Provenance != ProvenanceSourceTime {
		t.Errorf("precertificate: %+v, %v; want kind precertificate published at %v by source_issued_at", c, err, at)
	}
	if _, err := ParseIssued(Found{Raw: der}, []*ocsp.Issuer{stranger}, now); reasonOf(err) != SourceErrUnknownIssuer {
		t.Errorf("unknown issuer: %v", err)
	}
	for _, bad := range [][]byte{[]byte("garbage"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), nil} {
		if _, err := ParseIssued(Found{Raw: bad}, issuers, now); reasonOf(err) != SourceErrUnparseable {
			t.Errorf("ParseIssued(%q) = %v; want unparseable", bad, err)
		}
	}
}

func reasonOf(err error) string {
	var ce *CertError
	if errors.As(err, &ce) {
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
