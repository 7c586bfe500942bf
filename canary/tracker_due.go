package canary

import (
	"math"
	"math/big"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Schedule is when an origin is asked again about a certificate it answers
// authoritatively.
type Schedule struct {
	// Recheck is the shortest interval between two rechecks. A certificate
	// is asked again after max(Recheck, its age at the last check): young
	// ones often (seed 004's flapping came after issuance), old ones
	// less and less, about 1 + log2(TrackFor/Recheck) times in all.
	Recheck time.Duration
	// TrackFor ends rechecks of certificates resolved at every origin.
	TrackFor time.Duration
	// Rate is the recheck budget: rechecks per second per origin (0: no
	// limit), saved up for at most one Pass (the interval). First checks,
	// and certificates not authoritative, never wait for it.
	Rate float64
	Pass time.Duration
}

func defaultSchedule() Schedule { return Schedule{Recheck: 5 * time.Minute, TrackFor: 24 * time.Hour} }

// Answers are asked again before their stored dates would trip the
// response-freshness alerts (CertstatusOCSPResponseNearExpiry: nextUpdate
// within 8h; CertstatusOCSPResponseNotRefreshed: thisUpdate older than 4d),
// so the gauges show the origin's current answers, not old ones.
const (
	nearExpiry   = 8 * time.Hour
	notRefreshed = 4 * 24 * time.Hour
)

// next is when an authoritative answer given at s.lastCheck is due again:
// after max(Recheck, the certificate's age then), but before its dates
// would trip a freshness alert, and never sooner than Recheck.
func (sc Schedule) next(s *originState, publishedAt int64) int64 {
	last, r := int64(s.lastCheck)*1e9, int64(sc.Recheck)
	at := last + max(r, last-publishedAt)
	if s.nextUpdate != 0 {
		at = min(at, int64(s.nextUpdate)*1e9-int64(nearExpiry)-r)
	}
	if s.thisUpdate != 0 {
		at = min(at, int64(s.thisUpdate)*1e9+int64(notRefreshed)-r)
	}
	return max(at, last+r)
}

// allowance is how many rechecks origin o's queue may hand out at at (-1:
// no limit). The budget refills at Rate per second up to one pass's worth,
// so passes woken early by new certificates add no rechecks.
func (sc Schedule) allowance(q *originQueue, at int64) int {
	if sc.Rate <= 0 {
		return -1
	}
	full := max(math.Ceil(sc.Rate*sc.Pass.Seconds()), 1)
	if q.refilledAt == 0 {
		q.tokens = full
	} else {
		// A clock stepped back refills nothing (and lifts no limit).
		q.tokens = min(full, q.tokens+sc.Rate*float64(max(at-q.refilledAt, 0))/1e9)
	}
	q.refilledAt = at
	return max(int(q.tokens), 0)
}

// SetSchedule changes the schedule; the recheck queues are reordered.
func (t *Tracker) SetSchedule(s Schedule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sched = s
	t.expiry.init()
	for o := range t.queues {
		t.queues[o].recheck.init()
	}
}

// Due is a certificate an origin should be asked about now.
type Due struct {
	Issuer      int
	Serial      *big.Int
	PublishedAt time.Time
	// Known is what this origin last answered, verified; a byte-identical
	// answer is not verified again.
	Known    ocsp.Known
	answered bool
}

// Due lists what origin o should be asked now: every certificate not yet
// authoritative there (in a pass woken early, only those the last pass did
// not ask), never-answered ones first, then the authoritative ones due for a
// recheck, soonest due first, at most the schedule's budget. Certificates
// found expired on the way are dropped.
func (t *Tracker) Due(o int, now time.Time) []Due {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	at := now.UnixNano()
	q := &t.queues[o]
	var fresh, again []Due
	// A pass woken early by new certificates (less than half an interval
	// after the last) does not ask again what the last pass asked; a
	// regular pass asks everything waiting.
	early := q.passAt != 0 && at-q.passAt < int64(t.sched.Pass)/2
	lastPass := q.passAt / 1e9 // lastCheck is in seconds
	q.passAt = at
	for i := 0; i < len(q.waiting); {
		slot := q.waiting[i]
		if c := &t.certs[slot]; c.notAfter != 0 && c.notAfter < at {
			t.remove(slot) // moves another slot to i
			continue
		}
		i++
		if s := t.state(slot, o); early && s.result != ocsp.ResultNone && int64(s.lastCheck) >= lastPass {
			continue
		}
		d := t.due(slot, o)
		if d.answered {
			again = append(again, d)
		} else {
			fresh = append(fresh, d)
		}
	}
	return append(append(fresh, again...), t.rechecks(o, at)...)
}

// rechecks pops the authoritative certificates due at origin o, within
// the budget, and puts them back: they stay due until Record.
func (t *Tracker) rechecks(o int, at int64) []Due {
	q := &t.queues[o]
	budget := t.sched.allowance(q, at)
	cutoff := at - int64(t.sched.TrackFor)
	var out []Due
	var popped []int32
	q.backlog = 0
	for q.recheck.len() > 0 {
		slot := q.recheck.top()
		if late := at - q.recheck.key(slot); late < 0 {
			break
		} else if budget >= 0 && len(out) == budget {
			q.backlog = late
			break
		}
		q.recheck.pop()
		c := &t.certs[slot]
		// Past track_for, only resolved certificates leave; a held one keeps
		// being asked here (next keeps its dates fresh).
		if (c.notAfter != 0 && c.notAfter < at) || (c.publishedAt < cutoff && t.resolved(slot)) {
			t.remove(slot)
			continue
		}
		popped = append(popped, slot)
		out = append(out, t.due(slot, o))
	}
	for _, slot := range popped {
		q.recheck.push(slot)
	}
	if budget > 0 {
		q.tokens -= float64(len(out))
	}
	return out
}

func (t *Tracker) due(slot int32, o int) Due {
	c, s := &t.certs[slot], t.state(slot, o)
	d := Due{Issuer: int(c.key.issuer), Serial: c.key.bigInt(), PublishedAt: time.Unix(0, c.publishedAt),
		answered: s.result != ocsp.ResultNone}
	if s.digest != 0 && s.authoritative() {
		d.Known = ocsp.Known{Digest: s.digest, Result: s.result,
			ThisUpdate: time.Unix(int64(s.thisUpdate), 0), NextUpdate: time.Unix(int64(s.nextUpdate), 0)}
	}
	return d
}

// Record stores origin o's answer about a certificate. It returns how long
// after publication the first authoritative answer came (first=false
// otherwise).
func (t *Tracker) Record(o int, d Due, res ocsp.Outcome, at time.Time) (timeToAuth time.Duration, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	slot, ok := t.find(keyOf(d.Issuer, d.Serial))
	if !ok {
		return 0, false // expired or evicted meanwhile
	}
	c, s := &t.certs[slot], t.state(slot, o)
	t.countCDN(slot, -1)
	defer t.countCDN(slot, 1)
	t.dequeue(slot, o)
	defer t.enqueue(slot, o)
	wasAuth := s.authoritative()
	s.lastCheck = unixSeconds(at)
	if res.Result != s.result {
		s.result, s.since = res.Result, unixSeconds(at)
		t.changed(c.key)
	}
	if !res.Result.Authoritative() {
		s.digest = 0
		return 0, false
	}
	s.digest = res.Digest
	if tu, nu := unixSeconds(res.ThisUpdate), unixSeconds(res.NextUpdate); tu != s.thisUpdate || nu != s.nextUpdate {
		s.thisUpdate, s.nextUpdate = tu, nu
		t.changed(c.key) // a refreshed answer: its dates survive a restart
	}
	if !wasAuth && s.overdue() {
		t.queues[o].recovered = append(t.queues[o].recovered, c.key)
	}
	if s.flags&stateFirstAuth != 0 {
		return 0, false
	}
	s.setFlag(stateFirstAuth, true)
	t.changed(c.key)
	return max(at.Sub(time.Unix(0, c.publishedAt)), 0), true
}

// unixSeconds: OCSP times have second precision; 0 stays 0.
func unixSeconds(t time.Time) uint32 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	return uint32(min(t.Unix(), math.MaxUint32))
}
