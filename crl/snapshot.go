package crl

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// maxListed bounds the unlisted revocations kept per origin for the status
// page and API; the metrics count all of them.
const maxListed = 100

// snapshot is what a scrape and the status page read.
type snapshot struct {
	targets   []targetState // copies, in config order
	origins   []originSummary
	cdn       []cdnComparison
	src       target.Health
	hasSrc    bool
	ocsp      []ocspSummary
	shards    int
	listByURL bool
	list      target.Health
}

// originSummary is where the CA's revocations stand at one origin.
type originSummary struct {
	origin     string
	states     [numStates]int
	duplicates int // serials listed on more than one shard
	// unlisted are the oldest revocations not (rightly) listed: overdue
	// and mismatched first.
	unlisted []Unlisted
}

// Unlisted is a revocation an origin does not list as the CA recorded it.
type Unlisted struct {
	Origin    string
	Serial    *big.Int
	RevokedAt time.Time
	State     State
}

// cdnComparison is one shard at one CDN against the freshest origin.
type cdnComparison struct {
	shard, cdn               string
	lag                      time.Duration
	number, thisUpdate, hash bool // disagreements
	haveBoth                 bool
}

// summarize computes the snapshot; c.mu is held.
func (c *Canary) summarize(now time.Time) snapshot {
	snap := snapshot{src: c.src, hasSrc: c.source != nil}
	byOrigin := map[string][]*View{}
	views := map[markKey]*View{}
	shards := c.shards()
	snap.shards, snap.listByURL, snap.list = len(shards), c.listByURL(), c.list
	for _, o := range c.cfg.Origins {
		for _, s := range shards {
			t := c.targets[markKey{s.Name, o.Name}]
			snap.targets = append(snap.targets, *t)
			if t.view != nil {
				byOrigin[o.Name] = append(byOrigin[o.Name], t.view)
				views[markKey{s.Name, o.Name}] = t.view
			}
		}
	}
	for _, o := range c.cfg.Origins {
		sum := originSummary{origin: o.Name, duplicates: duplicates(byOrigin[o.Name])}
		if c.source != nil {
			c.revocationStates(&sum, byOrigin[o.Name], now)
		}
		snap.origins = append(snap.origins, sum)
	}
	if c.ocsp != nil {
		snap.ocsp = c.ocsp.summarize(c.record, c.cfg.RevocationDeadline.D(), now)
	}
	for _, s := range shards {
		var freshest *View
		for _, o := range c.cfg.Origins {
			if v := views[markKey{s.Name, o.Name}]; !o.CDN && v != nil && fresher(v, freshest) {
				freshest = v
			}
		}
		for _, o := range c.cfg.Origins {
			if !o.CDN {
				continue
			}
			cmp := cdnComparison{shard: s.Name, cdn: o.Name}
			if v := views[markKey{s.Name, o.Name}]; v != nil && freshest != nil {
				cmp.haveBoth = true
				cmp.lag = max(0, freshest.ThisUpdate.Sub(v.ThisUpdate))
				cmp.number = !sameNumber(v.Number, freshest.Number)
				cmp.thisUpdate = !v.ThisUpdate.Equal(freshest.ThisUpdate)
				cmp.hash = v.Hash != freshest.Hash
			}
			snap.cdn = append(snap.cdn, cmp)
		}
	}
	return snap
}

// fresher orders views by thisUpdate, then CRLNumber, then entries: of two
// origins rendering at the same time, the one whose database lags lists less.
func fresher(a, b *View) bool {
	switch {
	case b == nil:
		return true
	case !a.ThisUpdate.Equal(b.ThisUpdate):
		return a.ThisUpdate.After(b.ThisUpdate)
	case !sameNumber(a.Number, b.Number):
		return a.Number != nil && (b.Number == nil || a.Number.Cmp(b.Number) > 0)
	}
	return len(a.Entries) > len(b.Entries)
}

func sameNumber(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
}

// revocationStates classifies every revocation in the record at one origin.
func (c *Canary) revocationStates(sum *originSummary, views []*View, now time.Time) {
	deadline := c.cfg.RevocationDeadline.D()
	overdue := map[string]bool{}
	defer func() { c.logOverdue(sum.origin, overdue) }()
	for k, r := range c.record {
		if !r.unexpired(now) {
			continue // its entry may leave the CRL once the certificate expired (BR 4.10.1)
		}
		var e Entry
		found := false
		for _, v := range views {
			if e, found = v.Entries[k]; found {
				break
			}
		}
		st := stateOf(r, e, found, deadline, now)
		sum.states[st]++
		if st == StateOverdue {
			overdue[k] = true
		}
		if st != StateListed {
			sum.unlisted = append(sum.unlisted, Unlisted{Origin: sum.origin, Serial: r.Serial, RevokedAt: r.RevokedAt, State: st})
		}
	}
	// Worst first (mismatched, overdue, pending), then oldest first.
	sort.Slice(sum.unlisted, func(i, j int) bool {
		a, b := sum.unlisted[i], sum.unlisted[j]
		if a.State != b.State {
			return a.State > b.State
		}
		return a.RevokedAt.Before(b.RevokedAt)
	})
	if len(sum.unlisted) > maxListed {
		sum.unlisted = sum.unlisted[:maxListed]
	}
}

// maxTransitionLogs caps the overdue/resolved log lines per origin per pass.
const maxTransitionLogs = 100

// logOverdue logs revocations that became overdue at origin, and those no
// longer overdue; c.mu is held.
func (c *Canary) logOverdue(origin string, now map[string]bool) {
	before := c.overdue[origin]
	logged := 0
	for k := range now {
		if !before[k] && logged < maxTransitionLogs {
			logged++
			r := c.record[k]
			c.logger.Warn("revocation not on the CRLs after the deadline", "origin", origin,
				"serial", fmt.Sprintf("%x", r.Serial), "revoked_at", r.RevokedAt.UTC())
		}
	}
	for k := range before {
		if !now[k] && logged < maxTransitionLogs {
			logged++
			c.logger.Info("revocation no longer overdue", "origin", origin, "serial", fmt.Sprintf("%x", new(big.Int).SetBytes([]byte(k))))
		}
	}
	c.overdue[origin] = now
}

// duplicates counts serials listed on more than one of an origin's shards.
func duplicates(views []*View) int {
	n := 0
	for i, a := range views {
		for _, b := range views[i+1:] {
			if a.Hash == b.Hash {
				continue // the same CRL served for two shards is a different fault, seen by the IDP check
			}
			small, big := a.Entries, b.Entries
			if len(small) > len(big) {
				small, big = big, small
			}
			for k := range small {
				if _, ok := big[k]; ok {
					n++
				}
			}
		}
	}
	return n
}
