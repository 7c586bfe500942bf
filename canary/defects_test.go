package canary

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// spoolCanary is a canary with one dir source and no origin loop.
func spoolCanary(t *testing.T, p *testPKI, dir string) (*canary, *sourceTarget) {
	c := &canary{logger: quiet, cfg: config.OCSP{TrackFor: config.Duration(day)}, m: newMetrics(),
		tracker: NewTracker(1, 100000), issuers: []*ocsp.Issuer{p.issuer}}
	c.m.initLabels([]string{"o"}, []string{"spool"})
	return c, &sourceTarget{name: "spool", fetch: NewDirSource(dir), seen: NewSeenSet(100000), health: newHealth()}
}

// Defect (a): a spool read cut short by its timeout used to mark files read
// and then drop them. Every file must be tracked, however short the timeout.
func TestDirSourceTimeoutLosesNothing(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	const n = 3000
	for i := 1; i <= n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.der", i)), p.Leaf(t, int64(i), false), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, s := spoolCanary(t, p, dir)
	polls := 0
	deadline := time.Now().Add(2 * time.Minute)
	for c.tracker.Len() < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		c.pollSource(ctx, s, quiet)
		cancel()
		polls++
	}
	if got := c.tracker.Len(); got != n {
		t.Fatalf("%d of %d spool files tracked after %d polls", got, n, polls)
	}
	t.Logf("%d files tracked over %d polls cut short at 5ms", n, polls)
}

// Defect (b): unreadable spool files all hashed alike, so only the first was
// counted and logged. Each must be counted once.
func TestUnreadableSpoolFilesCountedEach(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	big := bytes.Repeat([]byte("x"), maxCertFileBytes+1) // over the read limit: unreadable
	for _, name := range []string{"a.pem", "b.pem", "c.pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), big, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, s := spoolCanary(t, p, dir)
	for range 2 { // a second poll counts nothing again
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.pollSource(ctx, s, quiet)
		cancel()
	}
	if got := testutil.ToFloat64(c.m.sourceErrors.WithLabelValues("spool", SourceErrUnparseable)); got != 3 {
		t.Errorf("unreadable files counted %v, want 3", got)
	}
}

// Defect (d): the cacheable-error counter exists at 0 from the start, so
// increase() sees the first cacheable error answer.
func TestCacheableErrorsStartAtZero(t *testing.T) {
	m := newMetrics()
	m.initLabels([]string{"cdn"}, nil)
	// Counted before anything creates a series: initLabels alone made them.
	if n := testutil.CollectAndCount(m.cacheableErrors); n != 14 {
		t.Errorf("%d cacheable-error series at start, want 14 (every non-authoritative result an HTTP answer can carry)", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.cacheableErrors)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			if s.GetCounter().GetValue() != 0 {
				t.Errorf("series %v starts at %v", s.GetLabel(), s.GetCounter().GetValue())
			}
		}
	}
}

// A more trustworthy clock replaces a weaker one (the CT log after the
// spool), never the reverse; each overdue change is one transition.
func TestProvenanceUpgradeAndTransitions(t *testing.T) {
	tr := NewTracker(1, 10)
	spool := IssuedCert{Serial: big.NewInt(1), PublishedAt: t0, Provenance: ProvenanceSpoolMTime, Kind: KindCertificate}
	tr.Add(spool)
	ct := spool
	ct.PublishedAt, ct.Provenance = t0.Add(-time.Minute), ProvenanceCTLog
	tr.Add(ct)
	seen := spool
	seen.PublishedAt, seen.Provenance = t0.Add(time.Hour), ProvenanceFirstSeen
	tr.Add(seen)
	c, _ := tr.lookup(keyOf(0, big.NewInt(1)))
	if c.provenance != ProvenanceCTLog || c.publishedAt != ct.PublishedAt.UnixNano() {
		t.Errorf("clock %v at %v; want the CT log's", c.provenance, time.Unix(0, c.publishedAt))
	}
	sla := 15 * time.Minute
	if _, tr1 := tr.Stats(0, t0.Add(10*time.Minute), sla); len(tr1) != 0 {
		t.Errorf("transitions within the SLA: %v", tr1)
	}
	_, tr2 := tr.Stats(0, t0.Add(20*time.Minute), sla)
	_, tr3 := tr.Stats(0, t0.Add(21*time.Minute), sla)
	tr.Record(0, Due{Serial: big.NewInt(1)}, good(t0), t0.Add(22*time.Minute))
	_, tr4 := tr.Stats(0, t0.Add(22*time.Minute), sla)
	if len(tr2) != 1 || tr2[0].Recovered || len(tr3) != 0 || len(tr4) != 1 || !tr4[0].Recovered {
		t.Errorf("transitions %v, %v, %v; want overdue once, then recovered once", tr2, tr3, tr4)
	}
}

// The mark of an incremental query: the page's previous distinct time, so
// the rows sharing its last time are read again rather than lost.
func TestSQLSourceAdvance(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		times []time.Time
		want  time.Time
	}{
		{[]time.Time{at(1), at(1), at(2), at(3), at(3)}, at(2)},
		{[]time.Time{at(5), at(5)}, at(5)}, // one time only: move past it
		{nil, at(0)},                       // nothing read: stay
		{[]time.Time{at(0)}, at(0)},        // never backwards
	} {
		s := &SQLSource{mark: at(0)}
		s.advance(tc.times)
		if !s.mark.Equal(tc.want) {
			t.Errorf("advance(%v) = %v, want %v", tc.times, s.mark, tc.want)
		}
	}
}

// A source that finds a new certificate wakes every origin loop, so its
// first check does not wait up to an interval for the next tick; finding
// nothing new wakes none.
func TestNewCertificateWakesOrigins(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	c, s := spoolCanary(t, p, dir)
	c.origins = []*originTarget{{name: "o", wake: make(chan struct{}, 1)}}
	c.pollSource(context.Background(), s, quiet)
	if len(c.origins[0].wake) != 0 {
		t.Fatal("an empty spool woke the origin")
	}
	if err := os.WriteFile(filepath.Join(dir, "1.der"), p.Leaf(t, 1, false), 0o644); err != nil {
		t.Fatal(err)
	}
	c.pollSource(context.Background(), s, quiet)
	if len(c.origins[0].wake) != 1 {
		t.Fatal("a new certificate did not wake the origin")
	}
	<-c.origins[0].wake
	c.pollSource(context.Background(), s, quiet)
	if len(c.origins[0].wake) != 0 {
		t.Error("a certificate already tracked woke the origin again")
	}
}
