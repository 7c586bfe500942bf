package canary

import (
	"math/big"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// ComplianceSample is what the compliance probes take from the tracker for
// one origin.
type ComplianceSample struct {
	// SerialLen is, per issuer, the most common serial length in bytes among
	// its tracked certificates; 0 when none is tracked.
	SerialLen []int
	// Good are up to limit certificates this origin last answered good, in
	// map order: a different sample each round.
	Good []Due
}

// ComplianceSample copies out what origin o's compliance round needs, so
// that the requests' encoding is searched without holding the lock.
func (t *Tracker) ComplianceSample(o, issuers, limit int) ComplianceSample {
	t.mu.Lock()
	defer t.mu.Unlock()
	lens := make([]map[int]int, issuers)
	for i := range lens {
		lens[i] = map[int]int{}
	}
	var s ComplianceSample
	for _, c := range t.certs {
		if c.key.issuer < issuers {
			lens[c.key.issuer][len(c.key.serial)]++
		}
		if len(s.Good) < limit && c.origins[o].result == ocsp.ResultGood {
			s.Good = append(s.Good, Due{Issuer: c.key.issuer, Serial: new(big.Int).SetBytes([]byte(c.key.serial))})
		}
	}
	s.SerialLen = make([]int, issuers)
	for i, m := range lens {
		best := 0
		for n, count := range m {
			if count > best || (count == best && n > s.SerialLen[i]) {
				best, s.SerialLen[i] = count, n
			}
		}
	}
	return s
}
