package canary

import (
	"cmp"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Tracker holds every certificate being watched and, per origin, what that
// origin last said about it. A certificate not authoritative at some origin
// stays until it is, or until it expires: a violation is never forgotten
// (seed 000 lasted 14 days). track_for only ends the rechecking of
// certificates authoritative everywhere. Memory is bounded by max: resolved
// certificates are evicted first, oldest first. Safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	certs   map[certKey]*tracked
	origins int
	max     int
	// invGrace: how long after a CT log has a certificate it must be in an
	// inventory source (see inventory.go).
	invGrace time.Duration
	// invUpTo (Unix ns) is the last reconciliation's inventory coverage.
	invUpTo atomic.Int64
	// size and pending mirror len(certs) and the changes not yet on disk
	// (dirty + gone + a flush's write in flight), so a scrape reads them
	// without waiting for the lock behind a scan.
	size, pending atomic.Int64
	inflight      int
	// Changes not yet persisted; see persist.go.
	dirty map[certKey]struct{}
	gone  map[certKey]struct{}
}

type certKey struct {
	issuer int
	serial string // big-endian bytes
}

// tracked is one certificate. Times are Unix nanoseconds to keep it small.
type tracked struct {
	key         certKey
	kind        string
	provenance  Provenance
	publishedAt int64
	notAfter    int64 // 0: unknown
	sightings   sightings
	origins     []originState
}

type originState struct {
	lastCheck  int64
	since      int64 // when the current result began
	firstAuth  int64 // 0 until the first good or revoked answer
	thisUpdate int64
	nextUpdate int64
	result     ocsp.Result // ResultNone before the first answer
	overdue    bool        // last seen overdue here (for the transition log)
}

func (s originState) authoritative() bool { return s.result.Authoritative() }

// resolved: authoritative at every origin.
func (c *tracked) resolved() bool {
	for _, s := range c.origins {
		if !s.authoritative() {
			return false
		}
	}
	return true
}

// NewTracker tracks at most max certificates for the given number of origins.
func NewTracker(origins, max int) *Tracker {
	return &Tracker{certs: map[certKey]*tracked{}, origins: origins, max: max,
		dirty: map[certKey]struct{}{}, gone: map[certKey]struct{}{}}
}

func keyOf(issuer int, serial *big.Int) certKey { return certKey{issuer, string(serial.Bytes())} }

// Evictions counts certificates dropped for room: resolved ones cost
// nothing; unresolved ones leave the exporter blind to a violation.
type Evictions struct{ Resolved, Unresolved int }

// Add starts tracking c; added is false if it already was. A known
// certificate takes c's publication time when c's clock is more
// trustworthy (a CT entry after the spool saw it, say).
func (t *Tracker) Add(c IssuedCert) (added bool, ev Evictions) {
	key := keyOf(c.Issuer, c.Serial)
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	if tc, ok := t.certs[key]; ok {
		changed := tc.sightings.add(c.SeenBy)
		if c.Provenance.better(tc.provenance) {
			tc.provenance, tc.publishedAt = c.Provenance, c.PublishedAt.UnixNano()
			changed = true
		}
		if changed {
			t.dirty[key] = struct{}{}
		}
		return false, Evictions{}
	}
	tc := &tracked{key: key, kind: c.Kind, provenance: c.Provenance, publishedAt: c.PublishedAt.UnixNano(),
		origins: make([]originState, t.origins)}
	tc.sightings.add(c.SeenBy)
	if !c.NotAfter.IsZero() {
		tc.notAfter = c.NotAfter.UnixNano()
	}
	t.certs[key] = tc
	t.dirty[key] = struct{}{}
	delete(t.gone, key)
	if len(t.certs) > t.max {
		ev = t.evict()
	}
	_, kept := t.certs[key]
	return kept, ev
}

// evict makes room for a batch of additions at once (1% of max), so a full
// tracker does not scan everything on every Add: resolved certificates
// oldest first, then, only if that is not enough, unresolved ones.
func (t *Tracker) evict() Evictions {
	want := len(t.certs) - t.max + max(t.max/100, 1) - 1
	var resolved, unresolved []*tracked
	for _, c := range t.certs {
		if c.resolved() {
			resolved = append(resolved, c)
		} else {
			unresolved = append(unresolved, c)
		}
	}
	var ev Evictions
	// Resolved ones oldest first; unresolved ones newest first, so that the
	// longest-standing violations, the ones paging, are the last dropped.
	slices.SortFunc(resolved, func(a, b *tracked) int { return cmp.Compare(a.publishedAt, b.publishedAt) })
	slices.SortFunc(unresolved, func(a, b *tracked) int { return cmp.Compare(b.publishedAt, a.publishedAt) })
	for _, group := range [][]*tracked{resolved, unresolved} {
		for _, c := range group {
			if want == 0 {
				return ev
			}
			t.remove(c.key)
			want--
			if c.resolved() {
				ev.Resolved++
			} else {
				ev.Unresolved++
			}
		}
	}
	return ev
}

func (t *Tracker) remove(key certKey) {
	delete(t.certs, key)
	delete(t.dirty, key)
	t.gone[key] = struct{}{}
}

// Expire stops tracking certificates that expired, and those published
// before now-trackFor that every origin answers authoritatively.
func (t *Tracker) Expire(now time.Time, trackFor time.Duration) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	cutoff, n := now.Add(-trackFor).UnixNano(), 0
	for key, c := range t.certs {
		expired := c.notAfter != 0 && c.notAfter < now.UnixNano()
		if expired || (c.publishedAt < cutoff && c.resolved()) {
			t.remove(key)
			n++
		}
	}
	return n
}

// Len is how many certificates are tracked.
func (t *Tracker) Len() int { return int(t.size.Load()) }

// publish updates the mirrors; t.mu is held.
func (t *Tracker) publish() {
	t.size.Store(int64(len(t.certs)))
	t.pending.Store(int64(len(t.dirty) + len(t.gone) + t.inflight))
}

// Due is a certificate an origin should be asked about now.
type Due struct {
	Issuer      int
	Serial      *big.Int
	PublishedAt time.Time
	answered    bool
}

// Due lists what origin o should be asked now: every certificate not yet
// authoritative there, never-answered ones first, then authoritative ones
// last asked recheck ago and published within trackFor.
func (t *Tracker) Due(o int, now time.Time, recheck, trackFor time.Duration) []Due {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Due
	limit, cutoff := now.Add(-recheck).UnixNano(), now.Add(-trackFor).UnixNano()
	for _, c := range t.certs {
		s := c.origins[o]
		// Past track_for, rechecks end only for resolved certificates: an
		// origin that answers one held for another origin keeps being asked,
		// so its dates stay fresh (they feed the thisUpdate/nextUpdate gauges).
		if s.authoritative() && (s.lastCheck > limit || (c.publishedAt < cutoff && c.resolved())) {
			continue
		}
		out = append(out, Due{Issuer: c.key.issuer, Serial: new(big.Int).SetBytes([]byte(c.key.serial)),
			PublishedAt: time.Unix(0, c.publishedAt), answered: s.result != ocsp.ResultNone})
	}
	slices.SortStableFunc(out, func(a, b Due) int {
		if a.answered != b.answered {
			if !a.answered {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// Record stores origin o's answer about a certificate. It returns how long
// after publication the first authoritative answer came (first=false
// otherwise).
func (t *Tracker) Record(o int, d Due, res ocsp.Outcome, at time.Time) (timeToAuth time.Duration, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	key := keyOf(d.Issuer, d.Serial)
	c, ok := t.certs[key]
	if !ok {
		return 0, false // expired or evicted meanwhile
	}
	s := &c.origins[o]
	s.lastCheck = at.UnixNano()
	if res.Result != s.result {
		s.result, s.since = res.Result, at.UnixNano()
		t.dirty[key] = struct{}{}
	}
	if !res.Result.Authoritative() {
		return 0, false
	}
	if tu := res.ThisUpdate.UnixNano(); tu != s.thisUpdate {
		s.thisUpdate, s.nextUpdate = tu, res.NextUpdate.UnixNano()
		t.dirty[key] = struct{}{} // a refreshed answer: its dates survive a restart
	}
	if s.firstAuth != 0 {
		return 0, false
	}
	s.firstAuth = at.UnixNano()
	t.dirty[key] = struct{}{}
	return max(at.Sub(time.Unix(0, c.publishedAt)), 0), true
}

// OriginStats summarises one origin's view of all tracked certificates.
type OriginStats struct {
	Pending, Authoritative, Overdue int
	// Over the certificates whose latest answer here is authoritative.
	OldestThisUpdate, NewestThisUpdate, EarliestNextUpdate, LatestNextUpdate time.Time
	// CDN only: certificates where some origin is authoritative but the CDN
	// is not, and where the CDN's thisUpdate is older than an origin's.
	CDNWorseStatus, CDNOlderThisUpdate int
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
// authoritative answer here is overdue. compareWith, for a CDN, lists the
// origins whose answers it should match.
func (t *Tracker) Stats(o int, now time.Time, sla time.Duration, compareWith []int) (OriginStats, []Transition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	var st OriginStats
	var trans []Transition
	deadline := now.Add(-sla).UnixNano()
	var oldest, newest, earliestNext, latestNext int64
	for key, c := range t.certs {
		s := &c.origins[o]
		overdue := !s.authoritative() && c.publishedAt < deadline
		switch {
		case s.authoritative():
			st.Authoritative++
			if oldest == 0 || s.thisUpdate < oldest {
				oldest = s.thisUpdate
			}
			newest = max(newest, s.thisUpdate)
			if earliestNext == 0 || s.nextUpdate < earliestNext {
				earliestNext = s.nextUpdate
			}
			latestNext = max(latestNext, s.nextUpdate)
		case overdue:
			st.Overdue++
		default:
			st.Pending++
		}
		if overdue != s.overdue {
			s.overdue = overdue
			t.dirty[key] = struct{}{}
			trans = append(trans, Transition{Serial: new(big.Int).SetBytes([]byte(key.serial)), Kind: c.kind,
				Result: s.result, Age: now.Sub(time.Unix(0, c.publishedAt)), Recovered: !overdue})
		}
		compareCDN(&st, c, *s, compareWith)
	}
	if oldest != 0 {
		st.OldestThisUpdate, st.NewestThisUpdate = time.Unix(0, oldest), time.Unix(0, newest)
		st.EarliestNextUpdate, st.LatestNextUpdate = time.Unix(0, earliestNext), time.Unix(0, latestNext)
	}
	return st, trans
}

func compareCDN(st *OriginStats, c *tracked, s originState, compareWith []int) {
	for _, other := range compareWith {
		os := c.origins[other]
		if !os.authoritative() {
			continue
		}
		if !s.authoritative() && s.result != ocsp.ResultNone {
			st.CDNWorseStatus++
			return
		}
		if s.authoritative() && s.thisUpdate < os.thisUpdate {
			st.CDNOlderThisUpdate++
			return
		}
	}
}

// Unpersisted counts changes not yet written to the store.
func (t *Tracker) Unpersisted() int { return int(t.pending.Load()) }

// adopt takes over old's certificates for a new configuration: origins are
// matched by name (a new origin starts with no answer), issuers by key
// hash (certificates of an issuer no longer configured are dropped).
func (t *Tracker) adopt(old *Tracker, oldOrigins, newOrigins []string, oldIssuers, newIssuers []*ocsp.Issuer) {
	issuer := map[int]int{}
	for i, o := range oldIssuers {
		for j, n := range newIssuers {
			if string(o.KeyHash) == string(n.KeyHash) && string(o.NameHash) == string(n.NameHash) {
				issuer[i] = j
			}
		}
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range old.certs {
		j, ok := issuer[c.key.issuer]
		if !ok {
			continue
		}
		nc := *c
		nc.key.issuer = j
		nc.origins = make([]originState, len(newOrigins))
		for i, name := range newOrigins {
			for k, was := range oldOrigins {
				if was == name {
					nc.origins[i] = c.origins[k]
				}
			}
		}
		t.certs[nc.key] = &nc
	}
	t.publish()
}
