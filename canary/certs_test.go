package canary

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
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

// A spool file is read once; only one caught mid-write (looked at again a
// listing later) or unreadable (looked at again while it stays so) is read
// again, and then only if its time or size moved.
func TestDirSourceRereads(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	ctx := context.Background()
	path := func(name string) string { return filepath.Join(dir, name) }
	src := NewDirSource(dir)
	fetch := func() []Found {
		t.Helper()
		found, err := src.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}

	// Created, not yet written: read empty, then again once written.
	if err := os.WriteFile(path("a.der"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if found := fetch(); len(found) != 1 || len(found[0].Raw) != 0 {
		t.Fatalf("first fetch: %v; want a.der, empty", found)
	}
	der := p.leafDER(t, 1, false)
	if err := os.WriteFile(path("a.der"), der, 0o644); err != nil {
		t.Fatal(err)
	}
	if found := fetch(); len(found) != 1 || len(found[0].Raw) != len(der) || found[0].Provenance != ProvenanceSpoolMTime {
		t.Fatalf("after the write: %v; want a.der with its certificate", found)
	}
	if found := fetch(); len(found) != 0 || len(src.recheck) != 0 {
		t.Fatalf("unchanged: %v, %d names to look at again; want none", found, len(src.recheck))
	}

	// Unreadable: counted once, then again when rewritten.
	big := make([]byte, maxCertFileBytes+1)
	if err := os.WriteFile(path("b.der"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if found := fetch(); len(found) != 1 || !found[0].Unreadable {
		t.Fatalf("unreadable: %v", found)
	}
	if found := fetch(); len(found) != 0 {
		t.Fatalf("unreadable, unchanged: %v; want nothing", found)
	}
	if err := os.WriteFile(path("b.der"), p.leafDER(t, 2, false), 0o644); err != nil {
		t.Fatal(err)
	}
	if found := fetch(); len(found) != 1 || found[0].Unreadable || found[0].ID != "b.der" {
		t.Fatalf("rewritten: %v; want b.der read", found)
	}

	// A settled name is not looked at again, even if changed: files are written once.
	if err := os.WriteFile(path("a.der"), p.leafDER(t, 3, false), 0o644); err != nil {
		t.Fatal(err)
	}
	fetch() // b.der settles
	if found := fetch(); len(found) != 0 || len(src.seen) != 2 {
		t.Errorf("settled names: %v read again, %d known; want none, 2", found, len(src.seen))
	}
}

// A listing cut short goes on where it stopped, and forgets only names a
// whole listing did not see.
func TestDirSourceListingResumes(t *testing.T) {
	dir := t.TempDir()
	const n = 3 * dirBatch
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.pem", i)), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := NewDirSource(dir)
	got := map[string]int{}
	calls := 0
	for len(got) < n {
		found, err := src.Fetch(&expiring{Context: context.Background(), left: 1}) // one file a call
		if calls++; err == nil && len(got)+len(found) < n || calls > 2*n {
			t.Fatalf("call %d: %d files, %v; %d of %d read", calls, len(found), err, len(got), n)
		}
		for _, f := range found {
			got[f.ID]++
		}
		if src.gen != 1 {
			t.Fatalf("call %d started listing %d; want the first one continued", calls, src.gen)
		}
	}
	for name, c := range got {
		if c != 1 {
			t.Errorf("%s returned %d times", name, c)
		}
	}
	if err := os.Remove(filepath.Join(dir, "00000.pem")); err != nil {
		t.Fatal(err)
	}
	for src.dir != nil || len(src.seen) == n { // end the listing under way, then one whole one
		if _, err := src.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := src.seen["00000.pem"]; ok || len(src.seen) != n-1 {
		t.Errorf("%d names known; want the removed one forgotten", len(src.seen))
	}
}

// expiring is a context whose deadline passes after left calls to Err.
type expiring struct {
	context.Context
	left int
}

func (c *expiring) Err() error {
	if c.left--; c.left < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// A spool folder removed and made again is another folder: its files are
// new, even under names the old one had.
func TestDirSourceFolderMadeAgain(t *testing.T) {
	p := newTestPKI(t)
	root := t.TempDir()
	dir := filepath.Join(root, "spool")
	write := func(serial int64) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "0001.der"), p.Leaf(t, serial, false), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := NewDirSource(dir)
	write(1)
	if found, err := src.Fetch(context.Background()); err != nil || len(found) != 1 {
		t.Fatalf("first folder: %d files, %v", len(found), err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	// Another directory first, so the new folder cannot reuse the old
	// one's inode (which a removed-and-made-again folder may).
	if err := os.Mkdir(filepath.Join(root, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(2)
	found, err := src.Fetch(context.Background())
	if err != nil || len(found) != 1 {
		t.Fatalf("folder made again: %d files, %v; want its one file", len(found), err)
	}
	c, err := ParseIssued(found[0], []*ocsp.Issuer{p.issuer}, time.Now())
	if err != nil || c.Serial.Int64() != 2 {
		t.Errorf("read %v, %v; want serial 2", c.Serial, err)
	}
}
