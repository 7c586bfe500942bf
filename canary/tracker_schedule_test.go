package canary

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Rechecks come after max(recheck_interval, age): a young certificate is
// asked again sooner than an old one answered at the same moment.
func TestRecheckAfterMaxOfIntervalAndAge(t *testing.T) {
	tr := NewTracker(1, 10)
	tr.SetSchedule(Schedule{Recheck: 5 * time.Minute, TrackFor: day})
	tr.Add(issued(1, t0))                   // young
	tr.Add(issued(2, t0.Add(-2*time.Hour))) // two hours old
	answered := t0.Add(time.Minute)
	for _, s := range []int64{1, 2} {
		tr.Record(0, due(s), good(answered), answered)
	}
	serials := func(at time.Time) (out []int64) {
		for _, d := range tr.Due(0, at) {
			out = append(out, d.Serial.Int64())
		}
		return out
	}
	if got := serials(answered.Add(5*time.Minute + time.Second)); len(got) != 1 || got[0] != 1 {
		t.Errorf("5m after: due %v, want only the young serial 1", got)
	}
	if got := serials(answered.Add(2*time.Hour + 2*time.Minute)); len(got) != 2 {
		t.Errorf("2h after: due %v, want both", got)
	}
	// Answered again at age 6m: next after 6m more, not 5m.
	at := t0.Add(6 * time.Minute)
	tr.Record(0, due(1), good(at), at)
	if got := serials(at.Add(5*time.Minute + time.Second)); len(got) != 0 {
		t.Errorf("due %v; serial 1 (age 6m at its last check) is not due before 6m", got)
	}
	if got := serials(at.Add(6*time.Minute + time.Second)); len(got) != 1 || got[0] != 1 {
		t.Errorf("due %v; want serial 1 6m after its last check", got)
	}
}

// The recheck budget bounds rechecks per pass, soonest due first; first
// checks and certificates not authoritative never wait for it.
func TestRecheckBudget(t *testing.T) {
	tr := NewTracker(1, 100)
	tr.SetSchedule(Schedule{Recheck: 5 * time.Minute, TrackFor: day, Rate: 1, Pass: 3 * time.Second}) // 3 per pass
	for s := int64(1); s <= 10; s++ {
		tr.Add(issued(s, t0))
		at := t0.Add(time.Duration(s) * time.Second) // 1 answered first
		tr.Record(0, due(s), good(at), at)
	}
	tr.Add(issued(11, t0)) // never asked
	tr.Add(issued(12, t0))
	tr.Record(0, due(12), ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0)
	now := t0.Add(time.Hour)
	d := tr.Due(0, now)
	var got []int64
	for _, x := range d {
		got = append(got, x.Serial.Int64())
	}
	if len(got) != 5 || got[0] != 11 || got[1] != 12 || got[2] != 1 || got[3] != 2 || got[4] != 3 {
		t.Fatalf("due %v; want 11 (never asked), 12 (unauthorized), then rechecks 1, 2, 3 (soonest due, budget 3)", got)
	}
	if st, _ := tr.Stats(0, now, time.Hour); st.RecheckBacklog <= 0 {
		t.Error("budget ran out with rechecks left, but no backlog reported")
	}
	for _, x := range d[2:] {
		tr.Record(0, x, good(now), now)
	}
	if again := tr.Due(0, now); len(again) != 2 {
		t.Errorf("a pass woken at once: %d due; want no recheck before the budget refills", len(again))
	}
	if next := tr.Due(0, now.Add(3*time.Second)); len(next) != 5 || next[2].Serial.Int64() != 4 {
		t.Errorf("next pass: %v; want the rechecks to go on with serial 4", next)
	}
}

// The counts kept as answers arrive equal a recount of every certificate,
// whatever the order of additions, answers, expiry and eviction.
func TestStatsMatchFullRecount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const origins = 3
	tr := NewTracker(origins, 300)
	tr.SetSchedule(Schedule{Recheck: time.Minute, TrackFor: time.Hour})
	tr.CompareCDN(2, []int{0, 1})
	results := []ocsp.Result{ocsp.ResultGood, ocsp.ResultRevoked, ocsp.ResultUnknown, ocsp.ResultTimeout}
	sla := 15 * time.Minute
	now := t0
	for step := 0; step < 5000; step++ {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Second)
		switch rng.IntN(10) {
		case 0, 1, 2:
			c := issued(int64(rng.IntN(500)), now.Add(-time.Duration(rng.IntN(3600))*time.Second))
			if rng.IntN(5) == 0 {
				c.NotAfter = now.Add(time.Duration(rng.IntN(7200)) * time.Second)
			}
			tr.Add(c)
		case 3:
			tr.Expire(now)
		default:
			o := rng.IntN(origins)
			for _, d := range tr.Due(o, now) {
				if rng.IntN(3) == 0 {
					tu := now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
					res := ocsp.Outcome{Result: results[rng.IntN(len(results))], ThisUpdate: tu, NextUpdate: tu.Add(96 * time.Hour)}
					tr.Record(o, d, res, now)
				}
			}
		}
		if step%100 == 0 {
			for o := 0; o < origins; o++ {
				got, _ := tr.Stats(o, now, sla)
				want := recount(tr, o, now, sla)
				if !sameStats(got, want) {
					t.Fatalf("step %d origin %d: kept %+v, recount %+v", step, o, got, want)
				}
			}
		}
	}
}

// sameStats: equal counts; the date extremes kept by minute may be up to a
// minute wider than the exact ones, never narrower.
func sameStats(got, want OriginStats) bool {
	within := func(kept, exact time.Time, older bool) bool {
		d := exact.Sub(kept)
		if !older {
			d = -d
		}
		return d >= 0 && d < time.Minute
	}
	dates := within(got.OldestThisUpdate, want.OldestThisUpdate, true) && within(got.NewestThisUpdate, want.NewestThisUpdate, false) &&
		within(got.EarliestNextUpdate, want.EarliestNextUpdate, true) && within(got.LatestNextUpdate, want.LatestNextUpdate, false)
	got.OldestThisUpdate, got.NewestThisUpdate, got.EarliestNextUpdate, got.LatestNextUpdate = want.OldestThisUpdate, want.NewestThisUpdate, want.EarliestNextUpdate, want.LatestNextUpdate
	return dates && got == want
}

// recount is Stats the slow way, over every tracked certificate.
func recount(tr *Tracker, o int, now time.Time, sla time.Duration) OriginStats {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var st OriginStats
	var lo, hi, nlo, nhi int64
	for slot := range tr.certs {
		c := &tr.certs[slot]
		if !c.live {
			continue
		}
		s := tr.state(int32(slot), o)
		switch {
		case s.authoritative():
			st.Authoritative++
			tu, nu := int64(s.thisUpdate), int64(s.nextUpdate)
			if lo == 0 || tu < lo {
				lo = tu
			}
			if nlo == 0 || nu < nlo {
				nlo = nu
			}
			hi, nhi = max(hi, tu), max(nhi, nu)
		case c.publishedAt < now.Add(-sla).UnixNano():
			st.Overdue++
		default:
			st.Pending++
		}
		with, cdn := tr.cdns[o]
		for _, w := range with {
			ws := tr.state(int32(slot), w)
			if !cdn || !ws.authoritative() {
				continue
			}
			if !s.authoritative() && s.result != ocsp.ResultNone {
				st.CDNWorseStatus++
				break
			}
			if s.authoritative() && s.thisUpdate < ws.thisUpdate {
				st.CDNOlderThisUpdate++
				break
			}
		}
	}
	if hi != 0 {
		st.OldestThisUpdate, st.NewestThisUpdate = time.Unix(lo, 0), time.Unix(hi, 0)
		st.EarliestNextUpdate, st.LatestNextUpdate = time.Unix(nlo, 0), time.Unix(nhi, 0)
	}
	return st
}

// An authoritative answer's digest comes back with the next recheck, so a
// byte-identical answer is not verified again; any other answer drops it.
func TestDueCarriesTheKnownAnswer(t *testing.T) {
	tr := NewTracker(1, 10)
	tr.Add(issued(1, t0))
	res := good(t0)
	res.Digest = 42
	tr.Record(0, due(1), res, t0)
	d := tr.Due(0, t0.Add(time.Hour))
	if len(d) != 1 || d[0].Known.Digest != 42 || d[0].Known.Result != ocsp.ResultGood || !d[0].Known.NextUpdate.Equal(res.NextUpdate) {
		t.Fatalf("due %+v; want the known answer", d)
	}
	tr.Record(0, due(1), ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0.Add(time.Hour))
	if d := tr.Due(0, t0.Add(time.Hour)); len(d) != 1 || d[0].Known.Digest != 0 {
		t.Errorf("after a non-authoritative answer: %+v; want nothing known", d)
	}
}

// However old the certificate, an answer is asked again before its stored
// dates would trip the freshness alerts (nextUpdate within 8h, thisUpdate
// older than 4 days): the gauges must show the origin's current answers.
func TestRecheckBeforeTheAnswerGoesStale(t *testing.T) {
	tr := NewTracker(1, 10)
	tr.SetSchedule(Schedule{Recheck: 5 * time.Minute, TrackFor: 30 * day})
	tr.Add(issued(1, t0.Add(-100*time.Hour)))
	res := ocsp.Outcome{Result: ocsp.ResultGood, ThisUpdate: t0.Add(-time.Hour), NextUpdate: t0.Add(12 * time.Hour)}
	tr.Record(0, due(1), res, t0) // by age alone, next in 100 hours
	if d := tr.Due(0, t0.Add(3*time.Hour)); len(d) != 0 {
		t.Errorf("3h later: %d due; the answer is still 9h from its nextUpdate", len(d))
	}
	if d := tr.Due(0, t0.Add(4*time.Hour)); len(d) != 1 {
		t.Errorf("4h later: %d due; want it asked before its nextUpdate is 8h away", len(d))
	}
	// An origin that keeps serving that answer is asked every recheck interval.
	at := t0.Add(6 * time.Hour)
	tr.Record(0, due(1), res, at)
	if d := tr.Due(0, at.Add(5*time.Minute+time.Second)); len(d) != 1 {
		t.Errorf("an answer near its nextUpdate: %d due after 5m; want it rechecked every interval", len(d))
	}
	long := ocsp.Outcome{Result: ocsp.ResultGood, ThisUpdate: at, NextUpdate: at.Add(10 * day)}
	tr.Record(0, due(1), long, at)
	if d := tr.Due(0, at.Add(4*day-time.Minute)); len(d) != 1 {
		t.Errorf("%d due; want it asked before its thisUpdate is 4 days old", len(d))
	}
}

// A pass woken early by new certificates skips what the last pass asked; a
// never-asked certificate is always asked, and a regular pass asks all.
func TestWokenPassSkipsWhatWasJustAsked(t *testing.T) {
	tr := NewTracker(1, 10)
	tr.SetSchedule(Schedule{Recheck: 5 * time.Minute, TrackFor: day, Pass: 15 * time.Second})
	tr.Add(issued(1, t0))
	tr.Due(0, t0) // a regular pass
	tr.Record(0, due(1), ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0.Add(time.Second))
	tr.Add(issued(2, t0))
	if d := tr.Due(0, t0.Add(5*time.Second)); len(d) != 1 || d[0].Serial.Int64() != 2 {
		t.Errorf("woken 5s after: %v; want only the never-asked serial 2", d)
	}
	if d := tr.Due(0, t0.Add(15*time.Second)); len(d) != 2 {
		t.Errorf("the next regular pass: %d due, want 2", len(d))
	}
	// A slow pass: answered 10s after it began; the next tick asks again.
	tr.Record(0, due(1), ocsp.Outcome{Result: ocsp.ResultUnauthorized}, t0.Add(25*time.Second))
	if d := tr.Due(0, t0.Add(30*time.Second)); len(d) != 2 {
		t.Errorf("the tick after a slow pass: %d due, want 2", len(d))
	}
}

// A wall clock stepped back neither refills the recheck budget nor lifts it.
func TestRecheckBudgetSurvivesAClockStep(t *testing.T) {
	tr := NewTracker(1, 100)
	tr.SetSchedule(Schedule{Recheck: time.Minute, TrackFor: day, Rate: 1, Pass: 2 * time.Second}) // 2 per pass
	for s := int64(1); s <= 10; s++ {
		tr.Add(issued(s, t0))
		tr.Record(0, due(s), good(t0), t0)
	}
	now := t0.Add(time.Hour)
	if d := tr.Due(0, now); len(d) != 2 {
		t.Fatalf("first pass: %d rechecks, want the budget's 2", len(d))
	}
	if d := tr.Due(0, now.Add(-10*time.Second)); len(d) != 0 {
		t.Errorf("after the clock stepped back: %d rechecks, want 0", len(d))
	}
}
