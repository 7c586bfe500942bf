package replication

import (
	"sort"
	"sync"
	"time"
)

// History remembers when a WAL position (the primary's, or a replica's
// received one) was seen, so that "how long ago was the primary here" and
// "how fast does WAL advance" can be answered. It holds at most cap samples:
// memory is bounded however long the exporter runs.
type History struct {
	mu      sync.Mutex
	samples []sample // oldest first; a ring would save the copy, but cap is small
	cap     int
}

type sample struct {
	at  time.Time
	lsn LSN
}

// NewHistory keeps enough samples to cover span at the given interval.
func NewHistory(span, interval time.Duration) *History {
	return &History{cap: historyCap(span, interval)}
}

func historyCap(span, interval time.Duration) int {
	return min(max(int(span/interval)+2, 2), 1<<20)
}

// Resize keeps enough samples to cover span at a new interval: a reload
// that changes the interval keeps the history but not its old size (a 5s to
// 1s change would otherwise cover a fifth of span). The newest samples stay.
func (h *History) Resize(span, interval time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cap = historyCap(span, interval)
	if n := len(h.samples); n > h.cap {
		h.samples = append(h.samples[:0], h.samples[n-h.cap:]...)
	}
}

// Add records a position. A position lower than the last one means a new
// primary or a restored backup: the old history no longer describes it.
func (h *History) Add(at time.Time, lsn LSN) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.samples); n > 0 && lsn < h.samples[n-1].lsn {
		h.samples = h.samples[:0]
	}
	if len(h.samples) == h.cap {
		copy(h.samples, h.samples[1:])
		h.samples = h.samples[:h.cap-1]
	}
	h.samples = append(h.samples, sample{at, lsn})
}

// Len is the number of samples held.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.samples)
}

// Rate is the bytes per second written over the last window ending at the
// newest sample; ok is false with fewer than two samples.
func (h *History) Rate(window time.Duration) (rate float64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.samples)
	if n < 2 {
		return 0, false
	}
	last := h.samples[n-1]
	from := last.at.Add(-window)
	i := sort.Search(n, func(i int) bool { return !h.samples[i].at.Before(from) })
	if i >= n-1 {
		i = n - 2
	}
	first := h.samples[i]
	dt := last.at.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0, false
	}
	return float64(last.lsn.Minus(first.lsn)) / dt, true
}

// Since says how long before now the recorded position was last at pos:
// 0 when the newest sample is not past pos. Between two samples the moment
// is interpolated linearly. When pos is older than every sample, it returns
// the age of the oldest sample and exact=false: a lower bound.
func (h *History) Since(pos LSN, now time.Time) (age time.Duration, exact bool, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.samples)
	if n == 0 {
		return 0, false, false
	}
	if h.samples[n-1].lsn <= pos {
		return 0, true, true
	}
	// First sample past pos; the position left pos after the one before it.
	j := sort.Search(n, func(i int) bool { return h.samples[i].lsn > pos })
	if j == 0 {
		return nonNegative(now.Sub(h.samples[0].at)), false, true
	}
	a, b := h.samples[j-1], h.samples[j]
	frac := float64(pos-a.lsn) / float64(b.lsn-a.lsn)
	left := a.at.Add(time.Duration(frac * float64(b.at.Sub(a.at))))
	return nonNegative(now.Sub(left)), true, true
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }
