package crl

import "sync"

// Marks keeps the newest CRLNumber and thisUpdate per shard and origin, so
// that a CRL going backwards is caught even across restarts once a
// persistent implementation (the store) backs it.
type Marks interface {
	Mark(shard, origin string) Mark
	SetMark(shard, origin string, m Mark)
}

type markKey struct{ shard, origin string }

// MemoryMarks is Marks in memory: lost at restart.
type MemoryMarks struct {
	mu sync.Mutex
	m  map[markKey]Mark
}

// NewMemoryMarks returns empty in-memory marks.
func NewMemoryMarks() *MemoryMarks { return &MemoryMarks{m: map[markKey]Mark{}} }

// Mark returns the mark for shard at origin; zero when none.
func (s *MemoryMarks) Mark(shard, origin string) Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[markKey{shard, origin}]
}

// SetMark records the mark for shard at origin.
func (s *MemoryMarks) SetMark(shard, origin string, m Mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[markKey{shard, origin}] = m
}
