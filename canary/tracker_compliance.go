package canary

import (
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// ComplianceSample is what the compliance probes take from the tracker for
// one origin.
type ComplianceSample struct {
	// SerialLen is, per issuer, the most common serial length in bytes among
	// its tracked certificates; 0 when none is tracked.
	SerialLen []int
	// Good are up to limit certificates this origin last answered good, a
	// different sample each round.
	Good []Due
}

// ComplianceSample copies out what origin o's compliance round needs, so
// that the requests' encoding is searched without holding the lock.
func (t *Tracker) ComplianceSample(o, issuers, limit int) ComplianceSample {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := ComplianceSample{SerialLen: make([]int, issuers)}
	for i := range s.SerialLen {
		lens := t.serialLens[uint16(i)]
		if lens == nil {
			continue
		}
		best := int32(0)
		for n, count := range lens {
			if count > 0 && count >= best {
				best, s.SerialLen[i] = count, n
			}
		}
	}
	// A different part of the recheck heap each round; at most limit good
	// ones among twice as many looked at.
	q := &t.queues[o]
	heap := q.recheck.s
	for i := 0; i < 2*limit && i < len(heap) && len(s.Good) < limit; i++ {
		q.sampleAt = (q.sampleAt + 1) % len(heap)
		slot := heap[q.sampleAt]
		if t.state(slot, o).result == ocsp.ResultGood {
			c := &t.certs[slot]
			s.Good = append(s.Good, Due{Issuer: int(c.key.issuer), Serial: c.key.bigInt()})
		}
	}
	return s
}
