package canary

import (
	"cmp"
	"math/big"
	"slices"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// state is this origin's incident-view state for a certificate published
// at publishedAt; deadline is now − SLA.
func (s originState) state(publishedAt, deadline int64) string {
	switch {
	case s.authoritative():
		return view.StateAuthoritative
	case publishedAt < deadline:
		return view.StateOverdue
	}
	return view.StatePending
}

// Certificates returns one page of tracked certificates in state q.State
// at some origin (any state when empty), worst first (view.Compare), and
// how many matched. Only the page is copied out; the scan is one pass under
// the lock, like Stats. origins and issuers name the tracker's indexes.
func (t *Tracker) Certificates(q view.CertificateQuery, now time.Time, sla time.Duration, origins, issuers []string) ([]view.Certificate, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := now.Add(-sla).UnixNano()
	type match struct {
		c     *tracked
		worst int
	}
	var ms []match
	for _, c := range t.certs {
		worst, ok := 0, q.State == ""
		for _, s := range c.origins {
			st := s.state(c.publishedAt, deadline)
			worst = max(worst, view.StateRank(st))
			ok = ok || st == q.State
		}
		if ok {
			ms = append(ms, match{c, worst})
		}
	}
	// The same order as view.Compare, on the compact keys.
	slices.SortFunc(ms, func(a, b match) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(a.c.publishedAt, b.c.publishedAt),
			cmp.Compare(len(a.c.key.serial), len(b.c.key.serial)), cmp.Compare(a.c.key.serial, b.c.key.serial),
			cmp.Compare(a.c.key.issuer, b.c.key.issuer))
	})
	lo := min(max(q.Offset, 0), len(ms))
	hi := min(lo+max(q.Limit, 0), len(ms))
	page := make([]view.Certificate, 0, hi-lo)
	for _, m := range ms[lo:hi] {
		c := m.c
		vc := view.Certificate{Serial: view.SerialHex(new(big.Int).SetBytes([]byte(c.key.serial))), Kind: c.kind,
			PublishedAt: time.Unix(0, c.publishedAt).UTC(), Provenance: c.provenance.String(), Origins: make([]view.OriginAnswer, 0, len(c.origins))}
		if c.key.issuer >= 0 && c.key.issuer < len(issuers) {
			vc.Issuer = issuers[c.key.issuer]
		}
		for i, s := range c.origins {
			a := view.OriginAnswer{State: s.state(c.publishedAt, deadline), Result: s.result.String()}
			if i < len(origins) {
				a.Origin = origins[i]
			}
			if s.since != 0 {
				a.Since, a.Asked = time.Unix(0, s.since).UTC(), time.Unix(0, s.lastCheck).UTC()
			}
			vc.Origins = append(vc.Origins, a)
		}
		page = append(page, vc)
	}
	return page, len(ms)
}
