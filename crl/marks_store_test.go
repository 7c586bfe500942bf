package crl

import (
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/store"
)

// Marks written to the store are there after a restart, so a CRL that went
// backwards while the exporter was down is still caught.
func TestStoredMarksSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	st := store.Open(dir, logger)
	m := NewStoredMarks(st)
	m.SetMark("shard-0", "origin-1", Mark{Number: big.NewInt(1795760956001), ThisUpdate: testNow})
	m.SetMark("shard-1", "cdn", Mark{ThisUpdate: testNow.Add(-time.Hour)})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = store.Open(dir, logger)
	defer st.Close()
	again := NewStoredMarks(st)
	if got := again.Mark("shard-0", "origin-1"); got.Number == nil || got.Number.Int64() != 1795760956001 || !got.ThisUpdate.Equal(testNow) {
		t.Errorf("shard-0@origin-1 after restart = %+v", got)
	}
	if got := again.Mark("shard-1", "cdn"); got.Number != nil || !got.ThisUpdate.Equal(testNow.Add(-time.Hour)) {
		t.Errorf("shard-1@cdn after restart = %+v", got)
	}
	if got := again.Mark("shard-0", "origin-2"); got.Number != nil || !got.ThisUpdate.IsZero() {
		t.Errorf("unknown mark = %+v", got)
	}
}

func TestStoredMarksWithoutStore(t *testing.T) {
	m := NewStoredMarks(nil)
	m.SetMark("s", "o", Mark{Number: big.NewInt(2)})
	if got := m.Mark("s", "o"); got.Number.Int64() != 2 {
		t.Errorf("mark = %+v", got)
	}
}
