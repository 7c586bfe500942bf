package canary

import (
	"math/big"
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
// certificates are evicted first. Safe for concurrent use.
//
// Work grows with what is due, not with what is tracked (issue 12): each
// origin keeps the certificates it does not answer authoritatively in a
// list (all due every pass) and the others in a heap ordered by when they
// are due for a recheck; counts and date extremes are kept up to date as
// answers arrive. Certificates live in slots of one slice, their origin
// states in another, so a million of them are a few large allocations.
type Tracker struct {
	mu      sync.Mutex
	index   slotIndex     // the slot of each tracked certificate
	certs   []tracked     // by slot; a free slot has live == false
	states  []originState // slot*origins + origin
	free    []int32
	origins int
	max     int
	sched   Schedule
	queues  []originQueue
	// expiry orders live certificates by when track_for or notAfter ends
	// for them; held are those past track_for but not resolved.
	expiry slotHeap
	held   map[int32]struct{}
	// cdns: origin → the origins its answers are compared with.
	cdns map[int][]int
	// oneSided: found by a CT source or an inventory source but not both,
	// the only certificates reconciliation looks at.
	oneSided               map[int32]struct{}
	reconcile, reconcileCT bool
	serialLens             map[uint16]*[maxSerialLen + 1]int32
	// invGrace: how long after a CT log has a certificate it must be in an
	// inventory source (see inventory.go).
	invGrace time.Duration
	// invUpTo (Unix ns) is the last reconciliation's inventory coverage.
	invUpTo atomic.Int64
	// size and pending mirror len(index) and the changes not yet on disk
	// (dirty + gone + a flush's write in flight), so a scrape reads them
	// without waiting for the lock.
	size, pending atomic.Int64
	inflight      int
	// Changes not yet persisted (see persist.go), kept only with a store:
	// without one nothing would ever empty them.
	keepChanges bool
	dirty       map[certKey]struct{}
	gone        map[certKey]struct{}
}

// maxSerialLen: RFC 5280 4.1.2.2 allows serials of up to 20 octets; the
// key holds them inline (no allocation per certificate).
const maxSerialLen = 20

type certKey struct {
	issuer uint16
	n      uint8
	serial [maxSerialLen]byte // big-endian, the first n bytes
}

func (k certKey) bytes() []byte { return k.serial[:k.n] }

func (k certKey) bigInt() *big.Int { return new(big.Int).SetBytes(k.bytes()) }

func keyOf(issuer int, serial *big.Int) certKey { return keyOfBytes(issuer, serial.Bytes()) }

func keyOfBytes(issuer int, b []byte) certKey {
	k := certKey{issuer: uint16(issuer), n: uint8(min(len(b), maxSerialLen))}
	copy(k.serial[:], b)
	return k
}

// tracked is one certificate.
type tracked struct {
	key         certKey
	sightings   sightings
	publishedAt int64 // Unix ns
	notAfter    int64 // Unix ns; 0: unknown
	epos        int32 // position in expiry; -1 when held or free
	precert     bool
	provenance  Provenance
	live        bool
}

func (c *tracked) kind() string {
	if c.precert {
		return KindPrecertificate
	}
	return KindCertificate
}

// expiresAt is when Expire looks at c again: the end of track_for, or its
// notAfter if that comes first.
func (c *tracked) expiresAt(trackFor time.Duration) int64 {
	at := c.publishedAt + int64(trackFor)
	if c.notAfter != 0 && c.notAfter < at {
		return c.notAfter
	}
	return at
}

// originState: times are Unix seconds, to keep a million certificates
// times a dozen origins small.
type originState struct {
	lastCheck uint32
	since     uint32 // when the current result began
	// digest of the last verified authoritative answer (0: none), so that a
	// byte-identical answer skips the signature check.
	digest     uint64
	thisUpdate uint32 // Unix seconds, of the latest authoritative answer
	nextUpdate uint32
	// qpos is the position in this origin's recheck heap when the result
	// is authoritative, in its waiting list otherwise; -1 while popped.
	qpos   int32
	result ocsp.Result // ResultNone before the first answer
	flags  uint8
}

// originState flags.
const (
	stateOverdue   = 1 << iota // last seen overdue here (for the transition log)
	stateFirstAuth             // has been authoritative here at least once
)

func (s *originState) authoritative() bool { return s.result.Authoritative() }
func (s *originState) overdue() bool       { return s.flags&stateOverdue != 0 }

func (s *originState) setFlag(f uint8, on bool) {
	if on {
		s.flags |= f
	} else {
		s.flags &^= f
	}
}

// NewTracker tracks at most max certificates for the given number of
// origins, on the default schedule until SetSchedule.
func NewTracker(origins, max int) *Tracker {
	t := &Tracker{index: newSlotIndex(), origins: origins, max: max, sched: defaultSchedule(),
		queues: make([]originQueue, origins), held: map[int32]struct{}{}, oneSided: map[int32]struct{}{},
		reconcile: true, reconcileCT: true, keepChanges: true, serialLens: map[uint16]*[maxSerialLen + 1]int32{}, cdns: map[int][]int{},
		dirty: map[certKey]struct{}{}, gone: map[certKey]struct{}{}}
	t.expiry = slotHeap{key: func(s int32) int64 { return t.certs[s].expiresAt(t.sched.TrackFor) },
		pos: func(s int32) *int32 { return &t.certs[s].epos }}
	for o := range t.queues {
		t.queues[o].recheck = slotHeap{key: func(s int32) int64 { return t.sched.next(t.state(s, o), t.certs[s].publishedAt) },
			pos: func(s int32) *int32 { return &t.state(s, o).qpos }}
	}
	return t
}

// CompareCDN makes origin cdn a CDN whose answers are compared with those
// of the origins in with. Call it before anything is tracked.
func (t *Tracker) CompareCDN(cdn int, with []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cdns[cdn] = with
}

// Reconciling says whether an inventory source and a CT source are
// configured: without an inventory source nothing is reconciled; without a
// CT source no certificate can be missing from a CT log. Call it before
// anything is tracked.
func (t *Tracker) Reconciling(inventory, ct bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reconcile, t.reconcileCT = inventory, ct
}

func (t *Tracker) state(slot int32, o int) *originState { return &t.states[int(slot)*t.origins+o] }

func (t *Tracker) originStates(slot int32) []originState {
	i := int(slot) * t.origins
	return t.states[i : i+t.origins]
}

// resolved: authoritative at every origin.
func (t *Tracker) resolved(slot int32) bool {
	states := t.originStates(slot)
	for i := range states {
		if !states[i].authoritative() {
			return false
		}
	}
	return true
}

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
	if slot, ok := t.find(key); ok {
		t.update(slot, c)
		return false, Evictions{}
	}
	nc := tracked{key: key, precert: c.Kind == KindPrecertificate, provenance: c.Provenance, publishedAt: c.PublishedAt.UnixNano()}
	nc.sightings.add(c.SeenBy)
	if !c.NotAfter.IsZero() {
		nc.notAfter = c.NotAfter.UnixNano()
	}
	t.insert(nc, nil)
	delete(t.gone, key)
	if t.index.n > t.max {
		ev = t.evict()
	}
	_, kept := t.find(key)
	return kept, ev
}

// update merges another sighting of a tracked certificate.
func (t *Tracker) update(slot int32, c IssuedCert) {
	tc := &t.certs[slot]
	changed := tc.sightings.add(c.SeenBy)
	if c.Provenance.better(tc.provenance) {
		tc.provenance, tc.publishedAt = c.Provenance, c.PublishedAt.UnixNano()
		changed = true
		if tc.epos >= 0 {
			t.expiry.fix(slot)
		} else {
			delete(t.held, slot) // Expire decides again
			t.expiry.push(slot)
		}
		for o := range t.queues {
			if s := t.state(slot, o); s.authoritative() && s.qpos >= 0 {
				t.queues[o].recheck.fix(slot)
			}
		}
	}
	if changed {
		t.changed(tc.key)
		t.sided(slot)
	}
}

// insert places c, with its origin states (nil: no answer yet), in a slot
// and in every queue.
func (t *Tracker) insert(c tracked, states []originState) int32 {
	var slot int32
	if n := len(t.free); n > 0 {
		slot, t.free = t.free[n-1], t.free[:n-1]
	} else {
		slot = int32(len(t.certs))
		t.certs = append(t.certs, tracked{})
		t.states = append(t.states, make([]originState, t.origins)...)
	}
	c.live = true
	t.certs[slot] = c
	for o := range t.originStates(slot) {
		s := t.state(slot, o)
		*s = originState{}
		if states != nil {
			*s = states[o]
		}
		if s.authoritative() && s.overdue() {
			// Answered after it was found overdue, saved before the recovery
			// was reported (a crash in between): the next Stats reports it.
			t.queues[o].recovered = append(t.queues[o].recovered, c.key)
		}
		t.enqueue(slot, o)
	}
	t.countCDN(slot, 1)
	t.index.put(c.key, slot, t.keyAt)
	t.changed(c.key)
	t.expiry.push(slot)
	t.sided(slot)
	t.serialLen(c.key, 1)
	return slot
}

// remove stops tracking the certificate in slot.
func (t *Tracker) remove(slot int32) {
	c := &t.certs[slot]
	t.countCDN(slot, -1)
	for o := range t.queues {
		t.dequeue(slot, o)
	}
	if c.epos >= 0 {
		t.expiry.remove(slot)
	}
	delete(t.held, slot)
	delete(t.oneSided, slot)
	t.serialLen(c.key, -1)
	t.index.del(c.key, t.keyAt)
	delete(t.dirty, c.key)
	if t.keepChanges {
		t.gone[c.key] = struct{}{}
	}
	c.live = false
	t.free = append(t.free, slot)
}

func (t *Tracker) serialLen(k certKey, d int32) {
	lens := t.serialLens[k.issuer]
	if lens == nil {
		lens = new([maxSerialLen + 1]int32)
		t.serialLens[k.issuer] = lens
	}
	lens[k.n] += d
}

// sided keeps oneSided up to date for the certificate in slot; without an
// inventory source nothing is reconciled, and nothing kept for it.
func (t *Tracker) sided(slot int32) {
	if !t.reconcile {
		return
	}
	w := t.certs[slot].sightings
	if (w.ct > 0 && w.inventory == 0) || (t.reconcileCT && w.inventory > 0 && w.ct == 0) {
		t.oneSided[slot] = struct{}{}
	} else {
		delete(t.oneSided, slot)
	}
}

// KeepChanges says whether changes are kept for a store to write (the
// default); without a store they are not.
func (t *Tracker) KeepChanges(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keepChanges = on
	if !on {
		clear(t.dirty)
		clear(t.gone)
	}
}

func (t *Tracker) changed(k certKey) {
	if t.keepChanges {
		t.dirty[k] = struct{}{}
	}
}

// Len is how many certificates are tracked.
func (t *Tracker) Len() int { return int(t.size.Load()) }

// Unpersisted counts changes not yet written to the store.
func (t *Tracker) Unpersisted() int { return int(t.pending.Load()) }

// publish updates the mirrors; t.mu is held.
func (t *Tracker) publish() {
	t.size.Store(int64(t.index.n))
	t.pending.Store(int64(len(t.dirty) + len(t.gone) + t.inflight))
}

// adopt takes over old's certificates for a new configuration: origins are
// matched by name (a new origin starts with no answer), issuers by key
// hash (certificates of an issuer no longer configured are dropped).
func (t *Tracker) adopt(old *Tracker, oldOrigins, newOrigins []string, oldIssuers, newIssuers []*ocsp.Issuer) {
	issuer := map[uint16]uint16{}
	for i, o := range oldIssuers {
		for j, n := range newIssuers {
			if string(o.KeyHash) == string(n.KeyHash) && string(o.NameHash) == string(n.NameHash) {
				issuer[uint16(i)] = uint16(j)
			}
		}
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for slot, c := range old.certs {
		j, ok := issuer[c.key.issuer]
		if !c.live || !ok {
			continue
		}
		c.key.issuer = j
		states := make([]originState, len(newOrigins))
		for i, name := range newOrigins {
			for k, was := range oldOrigins {
				if was == name {
					states[i] = *old.state(int32(slot), k)
				}
			}
		}
		t.insert(c, states)
	}
	t.publish()
}
