package canary

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

const day = 24 * time.Hour

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func issued(serial int64, at time.Time) IssuedCert {
	return IssuedCert{Issuer: 0, Serial: big.NewInt(serial), PublishedAt: at, Provenance: ProvenanceSourceTime, Kind: KindCertificate}
}

func good(thisUpdate time.Time) ocsp.Outcome {
	return ocsp.Outcome{Result: ocsp.ResultGood, ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(96 * time.Hour)}
}

// Full of unresolved certificates, the newest goes: the longest-standing
// violations, the ones paging, stay (and the drop is counted).
func TestTrackerEvictsNewestUnresolvedFirst(t *testing.T) {
	tr := NewTracker(1, 3)
	var evicted Evictions
	added := 0
	for _, s := range []int64{30, 10, 20, 40} { // issued out of order
		ok, n := tr.Add(issued(s, t0.Add(time.Duration(s)*time.Second)))
		if ok {
			added++
		}
		evicted.Resolved += n.Resolved
		evicted.Unresolved += n.Unresolved
	}
	if tr.Len() != 3 || evicted != (Evictions{Unresolved: 1}) || added != 3 {
		t.Fatalf("len %d evicted %+v added %d; want 3, 1 unresolved, 3 (40 was dropped at once)", tr.Len(), evicted, added)
	}
	if got := serialsOf(tr); !slices.Equal(got, []int64{10, 20, 30}) {
		t.Errorf("tracked %v; the newest (serial 40) should be the one dropped", got)
	}
	if ok, _ := tr.Add(issued(30, t0)); ok {
		t.Error("a tracked certificate was added twice")
	}
}

// Held until fixed: past track_for, only certificates authoritative at every
// origin leave; an unresolved one stays however old (seed 000: 14 days).
// Room is made from resolved certificates first.
func TestTrackerHoldsViolationsAndEvictsResolvedFirst(t *testing.T) {
	tr := NewTracker(2, 3)
	for _, s := range []int64{1, 2, 3} {
		tr.Add(issued(s, t0.Add(time.Duration(s)*time.Second)))
	}
	now := t0.Add(time.Minute)
	for o := 0; o < 2; o++ { // 2 is resolved; 1 is authoritative at one origin only
		tr.Record(o, Due{Serial: big.NewInt(2)}, good(now), now)
	}
	tr.Record(0, Due{Serial: big.NewInt(1)}, good(now), now)
	if _, ev := tr.Add(issued(4, now)); ev != (Evictions{Resolved: 1}) || !slices.Equal(serialsOf(tr), []int64{1, 3, 4}) {
		t.Errorf("evicted %+v, left %v; want the resolved serial 2 gone, 1 (older, unresolved) kept", ev, serialsOf(tr))
	}
	later := t0.Add(14 * day)
	tr.Record(0, Due{Serial: big.NewInt(4)}, good(later), later)
	tr.Record(1, Due{Serial: big.NewInt(4)}, good(later), later)
	if n := tr.Expire(later); n != 1 || !slices.Equal(serialsOf(tr), []int64{1, 3}) {
		t.Errorf("expired %d, left %v; want only the resolved serial 4 gone", n, serialsOf(tr))
	}
	if st, _ := tr.Stats(1, later, 15*time.Minute); st.Overdue != 2 {
		t.Errorf("day 14: %+v; want both unresolved certificates still overdue", st)
	}
	expiring := issued(5, later)
	expiring.NotAfter = later.Add(time.Hour)
	tr.Add(expiring)
	if n := tr.Expire(later.Add(2 * time.Hour)); n != 1 {
		t.Errorf("an expired certificate was kept (expired %d)", n)
	}
}

func serialsOf(tr *Tracker) []int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []int64
	for _, c := range tr.certs {
		if c.live {
			out = append(out, c.key.bigInt().Int64())
		}
	}
	slices.Sort(out)
	return out
}

func TestTrackerDueAndRecheck(t *testing.T) {
	tr := NewTracker(2, 10)
	tr.Add(issued(1, t0))
	tr.Add(issued(2, t0))
	now := t0.Add(time.Minute)
	if d := tr.Due(0, now); len(d) != 2 {
		t.Fatalf("due %d, want 2 before any answer", len(d))
	}
	for _, d := range tr.Due(0, now) {
		res := good(now)
		if d.Serial.Int64() == 2 {
			res = ocsp.Outcome{Result: ocsp.ResultUnauthorized}
		}
		took, first := tr.Record(0, d, res, now)
		if d.Serial.Int64() == 1 && (!first || took != time.Minute) {
			t.Errorf("serial 1: time to authoritative %v first %v; want 1m, true", took, first)
		}
	}
	// Serial 1 is authoritative at origin 0: not due again until the recheck.
	d := tr.Due(0, now.Add(time.Minute))
	if len(d) != 1 || d[0].Serial.Int64() != 2 {
		t.Errorf("due after answers = %v, want only serial 2", d)
	}
	if d := tr.Due(0, now.Add(6*time.Minute)); len(d) != 2 {
		t.Errorf("due after the recheck interval = %d, want 2", len(d))
	}
	if d := tr.Due(1, now); len(d) != 2 {
		t.Errorf("origin 1 due = %d, want 2 (origins are independent)", len(d))
	}
	// A later authoritative answer is not a new "first".
	if _, first := tr.Record(0, Due{Serial: big.NewInt(1)}, good(now), now.Add(7*time.Minute)); first {
		t.Error("second authoritative answer counted as first")
	}
}

func TestTrackerStatsAndFlapping(t *testing.T) {
	tr := NewTracker(3, 10) // origins 0 and 1, 2 is the CDN
	tr.CompareCDN(2, []int{0, 1})
	sla := 15 * time.Minute
	tr.Add(issued(1, t0))                     // authoritative everywhere
	tr.Add(issued(2, t0))                     // old, never authoritative at origin 0
	tr.Add(issued(3, t0.Add(20*time.Minute))) // young, no answer yet
	now := t0.Add(25 * time.Minute)
	d1, d2 := Due{Serial: big.NewInt(1)}, Due{Serial: big.NewInt(2)}
	tu := now.Add(-time.Hour)
	tr.Record(0, d1, good(tu), now)
	tr.Record(1, d1, good(tu), now)
	tr.Record(2, d1, good(tu.Add(-time.Hour)), now) // CDN serves an older answer
	tr.Record(0, d2, ocsp.Outcome{Result: ocsp.ResultUnauthorized}, now)
	tr.Record(1, d2, good(tu), now)
	tr.Record(2, d2, ocsp.Outcome{Result: ocsp.ResultUnauthorized}, now) // CDN worse than origin 1

	st, _ := tr.Stats(0, now, sla)
	if st.Authoritative != 1 || st.Overdue != 1 || st.Pending != 1 {
		t.Errorf("origin 0: %+v; want 1 authoritative, 1 overdue, 1 pending", st)
	}
	if !st.OldestThisUpdate.Equal(tu) || !st.EarliestNextUpdate.Equal(tu.Add(96*time.Hour)) || !st.LatestNextUpdate.Equal(tu.Add(96*time.Hour)) {
		t.Errorf("origin 0 thisUpdate/nextUpdate: %+v", st)
	}
	cdn, _ := tr.Stats(2, now, sla)
	if cdn.CDNWorseStatus != 1 || cdn.CDNOlderThisUpdate != 1 {
		t.Errorf("cdn: worse %d older %d; want 1, 1", cdn.CDNWorseStatus, cdn.CDNOlderThisUpdate)
	}
	// Seed 004 flapped: an authoritative certificate answered unauthorized
	// again past the SLA is overdue again.
	tr.Record(0, d1, ocsp.Outcome{Result: ocsp.ResultUnauthorized}, now)
	if st, _ := tr.Stats(0, now, sla); st.Overdue != 2 || st.Authoritative != 0 {
		t.Errorf("after flapping: %+v; want 2 overdue", st)
	}
	if d := tr.Due(0, now); len(d) != 3 {
		t.Errorf("a flapped certificate must be asked every interval again: due %d, want 3", len(d))
	}
}

func TestSeenSetIsBounded(t *testing.T) {
	s := NewSeenSet(2)
	for i, want := range []bool{true, true, false, true, true} {
		raw := []byte{byte([]int{1, 2, 1, 3, 1}[i])}
		if got := s.Add(raw); got != want {
			t.Errorf("add #%d (%v) = %v, want %v", i, raw, got, want)
		}
	}
	if len(s.set) != 2 || len(s.ring) != 2 {
		t.Errorf("set holds %d, ring %d; want at most 2", len(s.set), len(s.ring))
	}
}

// A certificate held because one origin does not answer it stays due for
// rechecks at the origins that do, past track_for: their dates stay fresh
// and feed the thisUpdate/nextUpdate gauges.
func TestHeldCertificateIsRecheckedEverywhere(t *testing.T) {
	tr := NewTracker(2, 10)
	tr.Add(issued(1, t0))
	tr.Record(0, Due{Serial: big.NewInt(1)}, good(t0), t0.Add(time.Minute))
	later := t0.Add(3 * day)
	if d := tr.Due(0, later); len(d) != 1 {
		t.Errorf("origin 0 due %d past track_for while origin 1 still lacks it; want 1", len(d))
	}
	tr.Record(1, Due{Serial: big.NewInt(1)}, good(later), later)
	tr.Record(0, Due{Serial: big.NewInt(1)}, good(later), later)
	if d := tr.Due(0, later.Add(time.Hour)); len(d) != 0 {
		t.Errorf("resolved past track_for: due %d, want 0", len(d))
	}
}

// Without a store, a reload that changes the ocsp section hands what was
// tracked to the new canary: origins by name, issuers by their hashes.
func TestAdoptRemapsOriginsAndIssuers(t *testing.T) {
	p, other := newTestPKI(t), newTestPKI(t)
	old := NewTracker(2, 10)
	old.Add(issued(1, t0)) // issuer 0 = p
	c2 := issued(2, t0)
	c2.Issuer = 1 // other: not configured any more
	old.Add(c2)
	old.Record(1, Due{Serial: big.NewInt(1)}, good(t0), t0) // origin "b" answered
	tr := NewTracker(3, 10)
	tr.adopt(old, []string{"a", "b"}, []string{"b", "c", "a"}, []*ocsp.Issuer{p.issuer, other.issuer}, []*ocsp.Issuer{p.issuer})
	if got := serialsOf(tr); !slices.Equal(got, []int64{1}) {
		t.Fatalf("adopted %v, want only serial 1", got)
	}
	_, states := tr.lookup(keyOf(0, big.NewInt(1)))
	if states[0].result != ocsp.ResultGood || states[1].result != ocsp.ResultNone || states[2].result != ocsp.ResultNone {
		t.Errorf("origin states %+v; want b's answer under b, none for c and a", states)
	}
}

// lookup returns a tracked certificate and its origin states (nil if it is
// not tracked); valid until the next change.
func (t *Tracker) lookup(k certKey) (*tracked, []originState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slot, ok := t.find(k)
	if !ok {
		return nil, nil
	}
	return &t.certs[slot], t.originStates(slot)
}
