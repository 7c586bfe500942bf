package canary

import "crypto/sha256"

// SeenSet remembers the last n distinct certificates a source returned (by
// a 128-bit prefix of their SHA-256), so each is parsed once. Bounded.
type SeenSet struct {
	set   map[[16]byte]struct{}
	ring  [][16]byte // grows up to limit, then the oldest is overwritten
	next  int
	limit int
}

// NewSeenSet remembers at most limit certificates.
func NewSeenSet(limit int) *SeenSet {
	return &SeenSet{set: map[[16]byte]struct{}{}, limit: max(limit, 1)}
}

// Add reports whether raw is new, remembering it.
func (s *SeenSet) Add(raw []byte) bool {
	sum := sha256.Sum256(raw)
	var k [16]byte
	copy(k[:], sum[:16])
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
