package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

const spoolFiles = 200000

// spoolDir returns a folder of spoolFiles distinct certificates from one
// test CA (even ones PEM, odd ones DER) and that CA. Making them takes a
// minute or so on 2 cores, so the folder is kept in the temp dir and reused
// while its certificates are valid for another week.
func spoolDir(b *testing.B) (string, *ocsp.Issuer) {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("certstatus-bench-spool-%d", spoolFiles))
	dir, caFile, done := filepath.Join(root, "spool"), filepath.Join(root, "ca.der"), filepath.Join(root, "complete")
	if raw, err := os.ReadFile(caFile); err == nil {
		if _, err := os.Stat(done); err == nil {
			ca := mustParseCert(b, raw)
			if time.Until(ca.NotAfter) > 7*24*time.Hour {
				return dir, mustIssuer(b, ca)
			}
		}
	}
	if err := os.RemoveAll(root); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	p := testpki.New(b)
	now := time.Now()
	// The CA must outlive its leaves; testpki's lasts a year.
	notAfter := p.CA.NotAfter.Add(-time.Hour)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	inParallel(b, spoolFiles, runtime.NumCPU(), func(i int) error {
		tmpl := &x509.Certificate{SerialNumber: probesSerial(i), Subject: pkix.Name{CommonName: fmt.Sprintf("leaf-%d.example", i)},
			NotBefore: now.Add(-time.Hour), NotAfter: notAfter}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.CAKey)
		if err != nil {
			return err
		}
		name, body := fmt.Sprintf("%07d.der", i), der
		if i%2 == 0 {
			name, body = fmt.Sprintf("%07d.pem", i), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
		return os.WriteFile(filepath.Join(dir, name), body, 0o644)
	})
	if err := os.WriteFile(caFile, p.CA.Raw, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d spool certificates in %s (kept in %s)", spoolFiles, time.Since(start).Round(time.Second), root)
	return dir, mustIssuer(b, p.CA)
}

func mustIssuer(b *testing.B, ca *x509.Certificate) *ocsp.Issuer {
	is, err := ocsp.NewIssuer(ca)
	if err != nil {
		b.Fatal(err)
	}
	return is
}

// spoolPoll is one poll as the canary runs it: the read bounded by the
// default 5 s timeout, then every file it returned parsed and tracked.
func spoolPoll(b *testing.B, src *canary.DirSource, seen *canary.SeenSet, tr *canary.Tracker, issuers []*ocsp.Issuer) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	found, err := src.Fetch(ctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		b.Fatal(err)
	}
	now := time.Now()
	for _, f := range found {
		if f.Unreadable || !seen.Add(f.Raw) {
			b.Fatalf("%s: unreadable or read twice", f.ID)
		}
		ic, err := canary.ParseIssued(f, issuers, now)
		if err != nil {
			b.Fatalf("%s: %v", f.ID, err)
		}
		if ic.Provenance != canary.ProvenanceSpoolMTime {
			b.Fatalf("%s: clock %v; want the spool mtime", f.ID, ic.Provenance)
		}
		tr.Add(ic)
	}
	return len(found)
}

// BenchmarkSpoolSource (issue 12 bench (e)): a 200,000-file spool tracked
// from nothing through DirSource, ParseIssued and the tracker, one poll after
// another with the canary's 5 s read timeout; then the cost of a poll that
// finds nothing new, against a plain os.ReadDir of the folder; then the heap
// the source keeps per known file.
func BenchmarkSpoolSource(b *testing.B) {
	dir, issuer := spoolDir(b)
	issuers := []*ocsp.Issuer{issuer}
	for b.Loop() {
		runtime.GC()
		src := canary.NewDirSource(dir)
		tr := canary.NewTracker(3, 250000)
		seen := canary.NewSeenSet(250000)
		cpu0, start := cpuSelf(), time.Now()
		polls := 0
		for tr.Len() < spoolFiles {
			if polls++; polls > 10000 {
				b.Fatalf("%d of %d tracked after %d polls", tr.Len(), spoolFiles, polls-1)
			}
			spoolPoll(b, src, seen, tr, issuers)
		}
		fill, fillCPU := time.Since(start), cpuSelf()-cpu0

		// Two polls to finish the listing under way and, for a source that
		// looks at new files again once, that look; then the steady state.
		var settle time.Duration
		for range 2 {
			t := time.Now()
			if n := spoolPoll(b, src, seen, tr, issuers); n != 0 {
				b.Fatalf("%d files again", n)
			}
			settle = max(settle, time.Since(t))
		}
		const idle = 5
		idleWall, idleCPU, idleAllocs := measure(idle, func() {
			if n := spoolPoll(b, src, seen, tr, issuers); n != 0 {
				b.Fatalf("%d files again", n)
			}
		})
		rdWall, rdCPU, rdAllocs := measure(idle, func() {
			if es, err := os.ReadDir(dir); err != nil || len(es) != spoolFiles {
				b.Fatal(len(es), err)
			}
		})

		// The source's own heap: what freeing it gives back.
		var with, without runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&with)
		runtime.KeepAlive(src)
		src = nil
		runtime.GC()
		runtime.ReadMemStats(&without)
		runtime.KeepAlive(tr)
		runtime.KeepAlive(seen)

		b.ReportMetric(float64(polls), "polls")
		b.ReportMetric(fill.Seconds(), "fill-s")
		b.ReportMetric(fillCPU.Seconds(), "fill-cpu-s")
		b.ReportMetric(ms(settle), "settle-poll-ms")
		b.ReportMetric(ms(idleWall), "idle-poll-ms")
		b.ReportMetric(ms(idleCPU), "idle-poll-cpu-ms")
		b.ReportMetric(idleAllocs, "idle-poll-allocs")
		b.ReportMetric(ms(rdWall), "readdir-ms")
		b.ReportMetric(ms(rdCPU), "readdir-cpu-ms")
		b.ReportMetric(rdAllocs, "readdir-allocs")
		b.ReportMetric(float64(idleWall)/float64(rdWall), "idle/readdir")
		b.ReportMetric(float64(idleCPU)/float64(rdCPU), "idle/readdir-cpu")
		b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/spoolFiles, "source-bytes/file")
	}
}

// measure runs f n times and returns its mean wall time, CPU time (of the
// process, so with its share of GC) and allocations.
func measure(n int, f func()) (wall, cpu time.Duration, allocs float64) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start, cpu0 := time.Now(), cpuSelf()
	for range n {
		f()
	}
	wall, cpu = time.Since(start), cpuSelf()-cpu0
	runtime.ReadMemStats(&m1)
	return wall / time.Duration(n), cpu / time.Duration(n), float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
