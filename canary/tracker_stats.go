package canary

import (
	"math/big"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// OriginStats summarises one origin's view of all tracked certificates.
type OriginStats struct {
	Pending, Authoritative, Overdue int
	// Over the certificates whose latest answer here is authoritative.
	OldestThisUpdate, NewestThisUpdate, EarliestNextUpdate, LatestNextUpdate time.Time
	// CDN only: certificates where some origin is authoritative but the CDN
	// is not, and where the CDN's thisUpdate is older than an origin's.
	CDNWorseStatus, CDNOlderThisUpdate int
	// RecheckBacklog: how late the most overdue recheck was when the
	// budget ran out at the last Due (0: none waited).
	RecheckBacklog time.Duration
}

// Transition is a certificate that became overdue at an origin, or
// recovered from it: one log line each.
type Transition struct {
	Serial    *big.Int
	Kind      string
	Result    ocsp.Result
	Age       time.Duration // since publication
	Recovered bool
}

// Stats computes origin o's summary and the overdue transitions since the
// last call. sla: a certificate published longer ago than this without an
// authoritative answer here is overdue. Its cost is that of the
// certificates not authoritative here: the rest is counted as answers come.
func (t *Tracker) Stats(o int, now time.Time, sla time.Duration) (OriginStats, []Transition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	q := &t.queues[o]
	st := OriginStats{Authoritative: q.recheck.len(), CDNOlderThisUpdate: q.cdnOlder, RecheckBacklog: time.Duration(q.backlog)}
	deadline, at := now.Add(-sla).UnixNano(), now.UnixNano()
	trans := t.recoveries(q, o, at)
	with, cdn := t.cdns[o]
	for _, slot := range q.waiting {
		c, s := &t.certs[slot], t.state(slot, o)
		overdue := c.publishedAt < deadline
		if overdue {
			st.Overdue++
		} else {
			st.Pending++
		}
		if overdue != s.overdue() {
			s.setFlag(stateOverdue, overdue)
			t.changed(c.key)
			trans = append(trans, t.transition(slot, s, at))
		}
		if cdn && s.result != ocsp.ResultNone && t.anyAuthoritative(slot, with) {
			st.CDNWorseStatus++
		}
	}
	if lo, hi := q.thisUpdates.bounds(); hi != 0 {
		st.OldestThisUpdate, st.NewestThisUpdate = time.Unix(int64(lo), 0), time.Unix(int64(hi), 0)
	}
	if lo, hi := q.nextUpdates.bounds(); hi != 0 {
		st.EarliestNextUpdate, st.LatestNextUpdate = time.Unix(int64(lo), 0), time.Unix(int64(hi), 0)
	}
	return st, trans
}

// recoveries reports the certificates answered authoritatively at origin o
// since they were found overdue there, and clears their flags.
func (t *Tracker) recoveries(q *originQueue, o int, at int64) []Transition {
	var trans []Transition
	for _, k := range q.recovered {
		slot, ok := t.find(k)
		if !ok {
			continue // gone meanwhile
		}
		// Not authoritative again by now: still overdue, nothing to report.
		if s := t.state(slot, o); s.authoritative() && s.overdue() {
			s.setFlag(stateOverdue, false)
			t.changed(k)
			trans = append(trans, t.transition(slot, s, at))
		}
	}
	q.recovered = q.recovered[:0]
	return trans
}

func (t *Tracker) transition(slot int32, s *originState, at int64) Transition {
	c := &t.certs[slot]
	return Transition{Serial: c.key.bigInt(), Kind: c.kind(), Result: s.result,
		Age: time.Duration(at - c.publishedAt), Recovered: !s.overdue()}
}

func (t *Tracker) anyAuthoritative(slot int32, origins []int) bool {
	for _, o := range origins {
		if t.state(slot, o).authoritative() {
			return true
		}
	}
	return false
}

// countCDN adds d to each CDN's count of certificates it answers with an
// older thisUpdate than a compared origin: -1 before a change to slot, +1
// after.
func (t *Tracker) countCDN(slot int32, d int) {
	for cdn, with := range t.cdns {
		s := t.state(slot, cdn)
		if !s.authoritative() {
			continue
		}
		for _, o := range with {
			if os := t.state(slot, o); os.authoritative() && s.thisUpdate < os.thisUpdate {
				t.queues[cdn].cdnOlder += d
				break
			}
		}
	}
}
