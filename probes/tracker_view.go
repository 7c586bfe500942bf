package probes

import (
	"cmp"
	"math/big"
	"slices"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// state is origin state s's incident-view state for a certificate issued
// at issuedAt; deadline is now − SLA.
func (s originState) state(issuedAt, deadline int64) view.State {
	switch {
	case s.authoritative():
		return view.Authoritative
	case issuedAt < deadline:
		return view.Overdue
	}
	return view.Pending
}

// Certificates returns one page of tracked certificates for the incident
// view, worst first (see view.Before). Only the page is copied out; the
// scan holds the lock for one pass over the tracked set, like Stats.
// origins and issuers name the indexes the tracker uses.
func (t *Tracker) Certificates(q view.CertificateQuery, now time.Time, sla time.Duration, origins, issuers []string) view.CertificatePage {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := now.Add(-sla).UnixNano()
	type match struct {
		c     *tracked
		worst view.State
	}
	var ms []match
	for _, c := range t.certs {
		worst, ok := view.Authoritative, len(q.States) == 0
		for _, s := range c.origins {
			st := s.state(c.issuedAt, deadline)
			worst = max(worst, st)
			ok = ok || slices.Contains(q.States, st)
		}
		if ok {
			ms = append(ms, match{c, worst})
		}
	}
	slices.SortFunc(ms, func(a, b match) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(a.c.issuedAt, b.c.issuedAt),
			cmp.Compare(a.c.key.issuer, b.c.key.issuer),
			cmp.Compare(len(a.c.key.serial), len(b.c.key.serial)), cmp.Compare(a.c.key.serial, b.c.key.serial))
	})
	page := view.CertificatePage{Total: len(ms)}
	lo, hi := min(max(q.Offset, 0), len(ms)), min(max(q.Offset, 0)+max(q.Limit, 0), len(ms))
	for _, m := range ms[lo:hi] {
		c := m.c
		vc := view.Certificate{Serial: new(big.Int).SetBytes([]byte(c.key.serial)), Kind: c.kind,
			PublishedAt: time.Unix(0, c.issuedAt), Provenance: c.provenance}
		if c.key.issuer >= 0 && c.key.issuer < len(issuers) {
			vc.Issuer = issuers[c.key.issuer]
		}
		for i, s := range c.origins {
			a := view.OriginAnswer{State: s.state(c.issuedAt, deadline)}
			if i < len(origins) {
				a.Origin = origins[i]
			}
			if s.result > 0 {
				a.Result = OCSPResults[s.result-1]
				a.Since, a.LastCheck = time.Unix(0, s.since), time.Unix(0, s.lastCheck)
			}
			vc.Origins = append(vc.Origins, a)
		}
		page.Certificates = append(page.Certificates, vc)
	}
	return page
}
