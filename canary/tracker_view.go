package canary

import (
	"bytes"
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// rank is this origin's incident-view state for a certificate published
// at publishedAt, as view.StateRank numbers it; deadline is now − SLA.
func (s originState) rank(publishedAt, deadline int64) int {
	switch {
	case s.authoritative():
		return rankAuthoritative
	case publishedAt < deadline:
		return rankOverdue
	}
	return rankPending
}

// The states' ranks, as view.StateRank gives them (checked by a test).
const (
	rankAuthoritative = iota
	rankPending
	rankOverdue
)

// match is a certificate in a page being selected, with its worst rank.
type match struct {
	c     *tracked
	slot  int32
	worst int
}

// compareMatches is view.Compare on the compact keys: worst first, then
// published earliest, then serial.
func compareMatches(a, b match) int {
	return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(a.c.publishedAt, b.c.publishedAt),
		cmp.Compare(a.c.key.n, b.c.key.n), bytes.Compare(a.c.key.bytes(), b.c.key.bytes()),
		cmp.Compare(a.c.key.issuer, b.c.key.issuer))
}

// firstK keeps the k matches that come first in compareMatches order: a
// max-heap whose root is the last kept, so memory is O(k), not O(tracked).
type firstK struct {
	k  int
	ms []match
}

func (h *firstK) Len() int           { return len(h.ms) }
func (h *firstK) Less(i, j int) bool { return compareMatches(h.ms[i], h.ms[j]) > 0 }
func (h *firstK) Swap(i, j int)      { h.ms[i], h.ms[j] = h.ms[j], h.ms[i] }
func (h *firstK) Push(x any)         { h.ms = append(h.ms, x.(match)) }
func (h *firstK) Pop() any {
	m := h.ms[len(h.ms)-1]
	h.ms = h.ms[:len(h.ms)-1]
	return m
}

func (h *firstK) offer(m match) {
	switch {
	case h.k == 0:
	case len(h.ms) < h.k:
		heap.Push(h, m)
	case compareMatches(m, h.ms[0]) < 0:
		h.ms[0] = m
		heap.Fix(h, 0)
	}
}

// Certificates returns one page of tracked certificates in state q.State
// at some origin (any state when empty), worst first (view.Compare), and
// how many matched. The scan is one pass under the lock, like Stats; it
// keeps only the first offset+limit matches and copies out only the page.
// origins, issuers and sources name the tracker's indexes.
func (t *Tracker) Certificates(q view.CertificateQuery, now time.Time, sla time.Duration, origins, issuers []string, sources ...string) ([]view.Certificate, int) {
	want := view.StateRank(q.State) // -1: any state
	lo, limit := max(q.Offset, 0), max(q.Limit, 0)
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := now.Add(-sla).UnixNano()
	top := &firstK{k: min(lo+limit, t.index.n)}
	total := 0
	for _, slot := range t.candidates(q, want) {
		c := &t.certs[slot]
		if q.MissingFromInventory && !c.sightings.missing(t.invUpTo.Load(), t.invGrace) {
			continue
		}
		worst, ok := 0, want < 0
		for _, s := range t.originStates(slot) {
			r := s.rank(c.publishedAt, deadline)
			worst = max(worst, r)
			ok = ok || r == want
		}
		if ok {
			total++
			top.offer(match{c, slot, worst})
		}
	}
	ms := top.ms
	slices.SortFunc(ms, compareMatches)
	ms = ms[min(lo, len(ms)):]
	page := make([]view.Certificate, 0, len(ms))
	for _, m := range ms {
		c := m.c
		vc := view.Certificate{Serial: view.SerialHex(c.key.bigInt()), Kind: c.kind(),
			PublishedAt: time.Unix(0, c.publishedAt).UTC(), Provenance: c.provenance.String(), Origins: make([]view.OriginAnswer, 0, t.origins),
			MissingFromInventory: c.sightings.missing(t.invUpTo.Load(), t.invGrace)}
		if w := c.sightings.ct; w > 0 && int(w) <= len(sources) {
			vc.CTSource = sources[w-1]
		}
		if int(c.key.issuer) < len(issuers) {
			vc.Issuer = issuers[c.key.issuer]
		}
		for i, s := range t.originStates(m.slot) {
			a := view.OriginAnswer{State: view.States()[s.rank(c.publishedAt, deadline)], Result: s.result.String()}
			if i < len(origins) {
				a.Origin = origins[i]
			}
			if s.since != 0 {
				a.Since, a.Asked = time.Unix(int64(s.since), 0).UTC(), time.Unix(int64(s.lastCheck), 0).UTC()
			}
			vc.Origins = append(vc.Origins, a)
		}
		page = append(page, vc)
	}
	return page, total
}

// candidates are the slots that can match q: the certificates waiting at
// some origin when only pending or overdue ones are asked for (what the
// incident view shows), those found on one side only for the inventory
// view, else every one.
func (t *Tracker) candidates(q view.CertificateQuery, want int) []int32 {
	var out []int32
	switch {
	case q.MissingFromInventory:
		for slot := range t.oneSided {
			out = append(out, slot)
		}
	case want == rankPending || want == rankOverdue:
		seen := map[int32]bool{}
		for o := range t.queues {
			for _, slot := range t.queues[o].waiting {
				if !seen[slot] {
					seen[slot] = true
					out = append(out, slot)
				}
			}
		}
	default:
		for slot := range t.certs {
			if t.certs[slot].live {
				out = append(out, int32(slot))
			}
		}
	}
	return out
}
