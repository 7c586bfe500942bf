package crl

import (
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"github.com/certstatus/certstatus_exporter/store"
)

// marksBucket holds one mark per shard and origin.
const marksBucket = "crl_marks"

// StoredMarks are Marks kept in memory and written through to the store, so
// that a CRL going backwards is caught across restarts too.
type StoredMarks struct {
	mem *MemoryMarks
	st  *store.Store
}

type storedMark struct {
	Number     string    `json:"number,omitempty"` // decimal; empty when none was seen
	ThisUpdate time.Time `json:"this_update"`
}

// NewStoredMarks loads the marks from st (nil or unusable: memory only).
func NewStoredMarks(st *store.Store) *StoredMarks {
	s := &StoredMarks{mem: NewMemoryMarks(), st: st}
	_ = st.Load(marksBucket, func(k, v []byte) error {
		shard, origin, ok := strings.Cut(string(k), "\x00")
		var sm storedMark
		if !ok || json.Unmarshal(v, &sm) != nil {
			return nil // an unreadable mark is dropped, not fatal
		}
		m := Mark{ThisUpdate: sm.ThisUpdate}
		if sm.Number != "" {
			m.Number, _ = new(big.Int).SetString(sm.Number, 10)
		}
		s.mem.SetMark(shard, origin, m)
		return nil
	})
	return s
}

// Mark implements Marks.
func (s *StoredMarks) Mark(shard, origin string) Mark { return s.mem.Mark(shard, origin) }

// SetMark implements Marks; an unchanged mark is not written again.
func (s *StoredMarks) SetMark(shard, origin string, m Mark) {
	old := s.mem.Mark(shard, origin)
	s.mem.SetMark(shard, origin, m)
	if sameNumber(old.Number, m.Number) && old.ThisUpdate.Equal(m.ThisUpdate) {
		return
	}
	sm := storedMark{ThisUpdate: m.ThisUpdate}
	if m.Number != nil {
		sm.Number = m.Number.String()
	}
	v, err := json.Marshal(sm)
	if err != nil {
		return
	}
	// The store logs and counts a failed write; the mark stays in memory.
	_ = s.st.Write(store.Batch{Bucket: marksBucket, Put: map[string][]byte{shard + "\x00" + origin: v}})
}
