package canary

import "hash/maphash"

// SeenSet remembers the last n distinct certificates a source returned, so
// each is parsed once. Bounded. It keeps a 64-bit digest keyed by a random
// seed per set (no one can aim a collision at it): by chance, two of a
// million certificates collide with odds of about 3 in 10^8, and half the
// memory of a 128-bit digest per certificate and source.
type SeenSet struct {
	seed  maphash.Seed
	set   map[uint64]struct{}
	ring  []uint64 // grows up to limit, then the oldest is overwritten
	next  int
	limit int
}

// NewSeenSet remembers at most limit certificates.
func NewSeenSet(limit int) *SeenSet {
	return &SeenSet{seed: maphash.MakeSeed(), set: map[uint64]struct{}{}, limit: max(limit, 1)}
}

// Add reports whether raw is new, remembering it.
func (s *SeenSet) Add(raw []byte) bool {
	k := maphash.Bytes(s.seed, raw)
	if _, ok := s.set[k]; ok {
		return false
	}
	if len(s.ring) < s.limit {
		s.ring = append(s.ring, k)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % s.limit
	}
	s.set[k] = struct{}{}
	return true
}
