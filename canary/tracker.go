package canary

import (
	"container/heap"
	"math/big"
	"sync"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Tracker holds every just-issued certificate being watched and, per origin,
// what that origin last said about it. Memory is bounded: at most max
// certificates, the oldest by issuance evicted first. Safe for concurrent use.
type Tracker struct {
	mu       sync.Mutex
	certs    map[certKey]*tracked
	byIssued issuedHeap
	origins  int
	max      int
}

type certKey struct {
	issuer int
	serial string // big-endian bytes
}

// tracked is one certificate. Times are Unix nanoseconds to keep it small.
type tracked struct {
	key      certKey
	issuedAt int64
	origins  []originState
}

type originState struct {
	lastCheck  int64
	firstAuth  int64 // 0 until the first good or revoked answer
	thisUpdate int64
	nextUpdate int64
	result     ocsp.Result // ResultNone before the first answer
}

func (s originState) authoritative() bool { return s.result.Authoritative() }

// NewTracker tracks at most max certificates for the given number of origins.
func NewTracker(origins, max int) *Tracker {
	return &Tracker{certs: map[certKey]*tracked{}, origins: origins, max: max}
}

// Add starts tracking c (added is false if it already was) and says how many
// of the oldest were evicted to make room.
func (t *Tracker) Add(c IssuedCert) (added bool, evicted int) {
	key := certKey{c.Issuer, string(c.Serial.Bytes())}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.certs[key]; ok {
		return false, 0
	}
	tc := &tracked{key: key, issuedAt: c.IssuedAt.UnixNano(), origins: make([]originState, t.origins)}
	t.certs[key] = tc
	heap.Push(&t.byIssued, tc)
	for len(t.certs) > t.max {
		old := heap.Pop(&t.byIssued).(*tracked)
		delete(t.certs, old.key)
		evicted++
	}
	return true, evicted
}

// Expire stops tracking certificates issued before cutoff.
func (t *Tracker) Expire(cutoff time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for len(t.byIssued) > 0 && t.byIssued[0].issuedAt < cutoff.UnixNano() {
		old := heap.Pop(&t.byIssued).(*tracked)
		delete(t.certs, old.key)
		n++
	}
	return n
}

// Len is how many certificates are tracked.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.certs)
}

// Due is a certificate an origin should be asked about now.
type Due struct {
	Issuer   int
	Serial   *big.Int
	IssuedAt time.Time
}

// Due lists what origin o should be asked now: every certificate not yet
// authoritative there, and authoritative ones last asked recheck ago.
func (t *Tracker) Due(o int, now time.Time, recheck time.Duration) []Due {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Due
	limit := now.Add(-recheck).UnixNano()
	for _, c := range t.certs {
		s := c.origins[o]
		if s.authoritative() && s.lastCheck > limit {
			continue
		}
		out = append(out, Due{Issuer: c.key.issuer, Serial: new(big.Int).SetBytes([]byte(c.key.serial)), IssuedAt: time.Unix(0, c.issuedAt)})
	}
	return out
}

// Record stores origin o's answer about a certificate. It returns how long
// after issuance the first authoritative answer came (ok=false otherwise).
func (t *Tracker) Record(o int, d Due, res ocsp.Outcome, at time.Time) (timeToAuth time.Duration, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.certs[certKey{d.Issuer, string(d.Serial.Bytes())}]
	if !ok {
		return 0, false // expired or evicted meanwhile
	}
	s := &c.origins[o]
	s.lastCheck = at.UnixNano()
	s.result = res.Result
	if !res.Result.Authoritative() {
		return 0, false
	}
	s.thisUpdate, s.nextUpdate = res.ThisUpdate.UnixNano(), res.NextUpdate.UnixNano()
	if s.firstAuth != 0 {
		return 0, false
	}
	s.firstAuth = at.UnixNano()
	return max(at.Sub(time.Unix(0, c.issuedAt)), 0), true
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

// Stats computes origin o's summary. sla: a certificate older than this
// without an authoritative answer here is overdue. compareWith, for a CDN,
// lists the origins whose answers it should match.
func (t *Tracker) Stats(o int, now time.Time, sla time.Duration, compareWith []int) OriginStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	var st OriginStats
	deadline := now.Add(-sla).UnixNano()
	var oldest, newest, earliestNext, latestNext int64
	for _, c := range t.certs {
		s := c.origins[o]
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
		case c.issuedAt < deadline:
			st.Overdue++
		default:
			st.Pending++
		}
		for _, other := range compareWith {
			os := c.origins[other]
			if !os.authoritative() {
				continue
			}
			if !s.authoritative() && s.result != 0 {
				st.CDNWorseStatus++
				break
			}
			if s.authoritative() && s.thisUpdate < os.thisUpdate {
				st.CDNOlderThisUpdate++
				break
			}
		}
	}
	if oldest != 0 {
		st.OldestThisUpdate, st.NewestThisUpdate = time.Unix(0, oldest), time.Unix(0, newest)
		st.EarliestNextUpdate, st.LatestNextUpdate = time.Unix(0, earliestNext), time.Unix(0, latestNext)
	}
	return st
}

// issuedHeap orders tracked certificates by issuance, oldest first.
type issuedHeap []*tracked

func (h issuedHeap) Len() int           { return len(h) }
func (h issuedHeap) Less(i, j int) bool { return h[i].issuedAt < h[j].issuedAt }
func (h issuedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *issuedHeap) Push(x any)        { *h = append(*h, x.(*tracked)) }
func (h *issuedHeap) Pop() any {
	old := *h
	n := len(old)
	tc := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return tc
}
