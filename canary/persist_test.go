package canary

import (
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

// What a tracker knows survives a restart: clocks, provenance, every
// origin's answer and since when, the overdue mark; origins are matched by
// name, so a reordered or extended configuration keeps them.
func TestPersistRoundTrip(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	st := store.Open(dir, quiet)
	pe := &persister{st: st, issuers: []*ocsp.Issuer{p.issuer}, origins: []string{"origin-1", "cdn"}}
	tr := NewTracker(2, 10)
	pub := t0.Add(-time.Hour)
	tr.Add(IssuedCert{Serial: big.NewInt(7), PublishedAt: pub, Provenance: ProvenanceCTLog, Kind: KindPrecertificate, NotAfter: t0.Add(90 * day)})
	tr.Add(issued(8, t0))
	tr.Record(0, Due{Serial: big.NewInt(7)}, ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0)
	tr.Record(1, Due{Serial: big.NewInt(7)}, good(t0), t0)
	before, _ := tr.Stats(0, t0, 15*time.Minute) // marks 7 overdue at origin-1
	if err := pe.flush(tr); err != nil {
		t.Fatal(err)
	}
	tr.Record(0, Due{Serial: big.NewInt(8)}, good(t0), t0) // after the flush: lost by a crash
	st.Close()

	st = store.Open(dir, quiet)
	defer st.Close()
	pe2 := &persister{st: st, issuers: []*ocsp.Issuer{p.issuer}, origins: []string{"cdn", "origin-2", "origin-1"}}
	tr2 := NewTracker(3, 10)
	if loaded, skipped := pe2.load(tr2); loaded != 2 || skipped != 0 {
		t.Fatalf("loaded %d skipped %d, want 2, 0", loaded, skipped)
	}
	c, states := tr2.lookup(keyOf(0, big.NewInt(7)))
	if c == nil || c.kind() != KindPrecertificate || c.provenance != ProvenanceCTLog || c.publishedAt != pub.UnixNano() {
		t.Fatalf("restored %+v", c)
	}
	o1, cdn, o2 := states[2], states[0], states[1]
	if o1.result != ocsp.ResultUnauthorized || !o1.overdue() || o1.since != unixSeconds(t0) {
		t.Errorf("origin-1 state %+v; want unauthorized, overdue, since t0", o1)
	}
	if cdn.result != ocsp.ResultGood || cdn.flags&stateFirstAuth == 0 || o2.result != ocsp.ResultNone {
		t.Errorf("cdn %+v, origin-2 %+v", cdn, o2)
	}
	after, trans := tr2.Stats(2, t0, 15*time.Minute)
	if after.Overdue != before.Overdue || after.Pending != before.Pending || len(trans) != 0 {
		t.Errorf("stats after restart %+v (transitions %v), before %+v", after, trans, before)
	}
	// An issuer no longer configured: its certificates are skipped.
	other := newTestPKI(t)
	pe3 := &persister{st: st, issuers: []*ocsp.Issuer{other.issuer}, origins: []string{"cdn"}}
	if loaded, skipped := pe3.load(NewTracker(1, 10)); loaded != 0 || skipped != 2 {
		t.Errorf("foreign issuer: loaded %d skipped %d", loaded, skipped)
	}
}

func TestDecodeRefusesDamage(t *testing.T) {
	pe := &persister{origins: []string{"o"}}
	tr := NewTracker(1, 1)
	tr.Add(issued(1, t0))
	rec := pe.encode(tr.lookup(keyOf(0, big.NewInt(1))))
	for n := 0; n < len(rec); n++ {
		if _, _, err := pe.decode(certKey{}, rec[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes was accepted", n, len(rec))
		}
	}
	if _, _, err := pe.decode(certKey{}, rec); err != nil {
		t.Fatal(err)
	}
}

// A recovery recorded but not yet reported when the state was saved (a
// crash between an answer and the end of the pass) is reported after the
// restart.
func TestRecoveryReportedAfterRestart(t *testing.T) {
	pe := &persister{origins: []string{"o"}}
	tr := NewTracker(1, 10)
	tr.Add(issued(1, t0))
	tr.Record(0, due(1), ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0)
	if _, trans := tr.Stats(0, t0.Add(20*time.Minute), 15*time.Minute); len(trans) != 1 {
		t.Fatalf("transitions %v; want overdue", trans)
	}
	tr.Record(0, due(1), good(t0), t0.Add(21*time.Minute))
	// Saved now, before the pass's Stats reported the recovery: the record
	// says authoritative and still overdue, and comes back as one recovery.
	c, states := tr.lookup(keyOf(0, big.NewInt(1)))
	rec := pe.encode(c, states)
	k, st, err := pe.decode(c.key, rec)
	if err != nil {
		t.Fatal(err)
	}
	tr2 := NewTracker(1, 10)
	tr2.insert(k, st)
	if _, trans := tr2.Stats(0, t0.Add(22*time.Minute), 15*time.Minute); len(trans) != 1 || !trans[0].Recovered {
		t.Errorf("after restart: transitions %v; want one recovery", trans)
	}
}
