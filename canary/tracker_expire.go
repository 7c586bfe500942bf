package canary

import (
	"cmp"
	"slices"
	"time"
)

// Expire stops tracking certificates that expired, and those published
// longer than track_for ago that every origin answers authoritatively.
// Those past track_for but not resolved are held (looked at each call: they
// are the violations, few) until they are resolved or expire. Its cost is
// that of what leaves or becomes held, plus the held ones.
func (t *Tracker) Expire(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	at, n := now.UnixNano(), 0
	for t.expiry.len() > 0 && t.expiry.key(t.expiry.top()) < at {
		slot := t.expiry.pop()
		if t.droppable(slot, at) {
			t.remove(slot)
			n++
		} else {
			t.held[slot] = struct{}{}
		}
	}
	for slot := range t.held {
		if t.droppable(slot, at) {
			t.remove(slot)
			n++
		}
	}
	return n
}

// droppable says whether the certificate in slot, past track_for or its
// notAfter, is to be dropped: expired, or resolved.
func (t *Tracker) droppable(slot int32, at int64) bool {
	c := &t.certs[slot]
	return (c.notAfter != 0 && c.notAfter < at) || t.resolved(slot)
}

// evict makes room for a batch of additions at once (1% of max), so a full
// tracker does not look for room on every Add: resolved certificates
// first, those leaving soonest first; then, only if that is not enough,
// unresolved ones, newest first, so that the longest-standing violations,
// the ones paging, are the last dropped. Only that last case scans every
// certificate: the tracker is full of violations, and it pages.
func (t *Tracker) evict() Evictions {
	want := t.index.n - t.max + max(t.max/100, 1) - 1
	var ev Evictions
	for slot := range t.held { // resolved since the last Expire
		if ev.Resolved >= want {
			break
		}
		if t.resolved(slot) {
			t.remove(slot)
			ev.Resolved++
		}
	}
	var kept []int32
	for ev.Resolved < want && t.expiry.len() > 0 {
		slot := t.expiry.pop()
		if t.resolved(slot) {
			t.remove(slot)
			ev.Resolved++
		} else {
			kept = append(kept, slot)
		}
	}
	for _, slot := range kept {
		t.expiry.push(slot)
	}
	if ev.Resolved == want {
		return ev
	}
	var unresolved []int32
	for slot := range t.certs {
		if t.certs[slot].live && !t.resolved(int32(slot)) {
			unresolved = append(unresolved, int32(slot))
		}
	}
	slices.SortFunc(unresolved, func(a, b int32) int { return cmp.Compare(t.certs[b].publishedAt, t.certs[a].publishedAt) })
	for _, slot := range unresolved[:min(want-ev.Resolved, len(unresolved))] {
		t.remove(slot)
		ev.Unresolved++
	}
	return ev
}
