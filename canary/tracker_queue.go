package canary

// originQueue is what one origin is to be asked, and what it said in sum.
type originQueue struct {
	// waiting: certificates not authoritative here, all due every pass;
	// recheck: the authoritative ones, soonest due first.
	waiting []int32
	recheck slotHeap
	// dates: thisUpdate and nextUpdate of the authoritative answers.
	thisUpdates, nextUpdates minuteCounts
	// cdnOlder (a CDN only): authoritative here with an older thisUpdate
	// than a compared origin's.
	cdnOlder int
	// recovered: certificates found overdue here and answered
	// authoritatively since; their overdue flag stays set (and saved) until
	// Stats reports the recovery, so a crash in between does not lose it.
	recovered []certKey
	// passAt: when the last Due began, to tell a pass woken early.
	passAt int64
	// backlog: how late the most overdue recheck was at the last Due (Unix
	// ns); sampleAt: where ComplianceSample reads the heap next.
	backlog  int64
	sampleAt int
	// The recheck budget's bucket: tokens left, refilled at refilledAt.
	tokens     float64
	refilledAt int64
}

// enqueue puts slot's state at origin o where it belongs.
func (t *Tracker) enqueue(slot int32, o int) {
	q, s := &t.queues[o], t.state(slot, o)
	if !s.authoritative() {
		s.qpos = int32(len(q.waiting))
		q.waiting = append(q.waiting, slot)
		return
	}
	q.recheck.push(slot)
	q.thisUpdates.add(s.thisUpdate)
	q.nextUpdates.add(s.nextUpdate)
}

// dequeue takes slot's state at origin o out of its queue.
func (t *Tracker) dequeue(slot int32, o int) {
	q, s := &t.queues[o], t.state(slot, o)
	if !s.authoritative() {
		last := q.waiting[len(q.waiting)-1]
		q.waiting[s.qpos] = last
		t.state(last, o).qpos = s.qpos
		q.waiting = q.waiting[:len(q.waiting)-1]
		return
	}
	if s.qpos >= 0 {
		q.recheck.remove(slot)
	}
	q.thisUpdates.remove(s.thisUpdate)
	q.nextUpdates.remove(s.nextUpdate)
}

// slotHeap is a binary min-heap of slots by key, each slot's position kept
// in its own record (pos) so that it is fixed or removed in O(log n).
// Hand-written rather than container/heap: that one needs a type per key
// and boxes every pushed element in an interface.
type slotHeap struct {
	s   []int32
	key func(slot int32) int64
	pos func(slot int32) *int32
}

func (h *slotHeap) len() int           { return len(h.s) }
func (h *slotHeap) top() int32         { return h.s[0] }
func (h *slotHeap) less(i, j int) bool { return h.key(h.s[i]) < h.key(h.s[j]) }

func (h *slotHeap) swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	*h.pos(h.s[i]), *h.pos(h.s[j]) = int32(i), int32(j)
}

func (h *slotHeap) push(slot int32) {
	h.s = append(h.s, slot)
	*h.pos(slot) = int32(len(h.s) - 1)
	h.up(len(h.s) - 1)
}

// pop takes the top out; its position becomes -1.
func (h *slotHeap) pop() int32 {
	slot := h.s[0]
	h.remove(slot)
	return slot
}

func (h *slotHeap) remove(slot int32) {
	i, n := int(*h.pos(slot)), len(h.s)-1
	if i != n {
		h.swap(i, n)
	}
	h.s = h.s[:n]
	*h.pos(slot) = -1
	if i != n {
		h.fixAt(i)
	}
}

func (h *slotHeap) fix(slot int32) { h.fixAt(int(*h.pos(slot))) }

func (h *slotHeap) fixAt(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// init restores the order after the keys changed.
func (h *slotHeap) init() {
	for i := len(h.s)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *slotHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *slotHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h.s) {
			break
		}
		m := l
		if r := l + 1; r < len(h.s) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// minuteCounts counts values (Unix seconds) by minute, with the extremes
// seen in each minute, so the oldest and newest are found without a scan
// of every certificate: a lookup over the distinct minutes (about ten
// thousand for a week of answers). A removal keeps the minute's extremes,
// so Min and Max are exact until a removal, then within that minute.
type minuteCounts map[uint32]*minute

type minute struct {
	n      int32
	lo, hi uint32
}

func (m *minuteCounts) add(v uint32) {
	if *m == nil {
		*m = minuteCounts{}
	}
	b := (*m)[v/60]
	if b == nil || b.n == 0 {
		(*m)[v/60] = &minute{n: 1, lo: v, hi: v}
		return
	}
	b.n++
	b.lo, b.hi = min(b.lo, v), max(b.hi, v)
}

func (m minuteCounts) remove(v uint32) {
	if b := m[v/60]; b != nil {
		if b.n--; b.n <= 0 {
			delete(m, v/60)
		}
	}
}

// bounds returns the smallest and largest value counted (0, 0 if none).
func (m minuteCounts) bounds() (lo, hi uint32) {
	for k, b := range m {
		if lo == 0 || k < lo/60 {
			lo = b.lo
		}
		if k >= hi/60 {
			hi = b.hi
		}
	}
	return lo, hi
}
