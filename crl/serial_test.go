package crl

import (
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestParseSerial(t *testing.T) {
	want, _ := new(big.Int).SetString("2748", 10) // 0xabc
	numeric := pgtype.Numeric{Int: big.NewInt(27480), Exp: -1, Valid: true}
	for _, in := range []any{"2748", " 2748 ", "abc", "0xABC", "0a:bc", []byte{0x0a, 0xbc}, int64(2748), int32(2748), numeric,
		pgtype.Numeric{Int: big.NewInt(2748), Valid: true}} {
		got, err := parseSerial(in)
		if err != nil || got.Cmp(want) != 0 {
			t.Errorf("parseSerial(%#v) = %v, %v", in, got, err)
		}
	}
	for _, in := range []any{"", "xyz", "-5", []byte{}, 1.5, nil, pgtype.Numeric{Int: big.NewInt(27481), Exp: -1, Valid: true},
		pgtype.Numeric{Valid: true, NaN: true}} {
		if got, err := parseSerial(in); err == nil {
			t.Errorf("parseSerial(%#v) = %v, want an error", in, got)
		}
	}
}

func TestParseReason(t *testing.T) {
	for in, want := range map[any]int{nil: 0, int64(1): 1, int32(4): 4, int16(5): 5, "1": 1, "keyCompromise": 1, "superseded": 4, " cessationOfOperation ": 5} {
		if got, err := parseReason(in); err != nil || got != want {
			t.Errorf("parseReason(%#v) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseReason("sneezed"); err == nil {
		t.Error("unknown reason name accepted")
	}
}

func TestStateOf(t *testing.T) {
	now := testNow
	r := Revocation{Serial: big.NewInt(7), RevokedAt: now.Add(-time.Hour + 300*time.Millisecond), Reason: 1}
	listed := Entry{RevokedAt: now.Add(-time.Hour), Reason: 1}
	cases := []struct {
		name     string
		e        Entry
		found    bool
		deadline time.Duration
		want     State
	}{
		{"listed, date to the second", listed, true, 24 * time.Hour, StateListed},
		{"listed with another reason", Entry{RevokedAt: listed.RevokedAt, Reason: 4}, true, 24 * time.Hour, StateMismatched},
		{"listed with another date", Entry{RevokedAt: listed.RevokedAt.Add(-time.Minute), Reason: 1}, true, 24 * time.Hour, StateMismatched},
		{"not listed, within the deadline", Entry{}, false, 24 * time.Hour, StatePending},
		{"not listed, past the deadline", Entry{}, false, 30 * time.Minute, StateOverdue},
	}
	for _, tc := range cases {
		if got := stateOf(r, tc.e, tc.found, tc.deadline, now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestEarlyRemovals(t *testing.T) {
	k := func(n int64) string { return SerialKey(big.NewInt(n)) }
	prev := &View{Hash: [32]byte{1}, Entries: map[string]Entry{k(1): {}, k(2): {}, k(3): {}, k(4): {}}}
	cur := &View{Hash: [32]byte{2}, Entries: map[string]Entry{k(1): {}}}
	record := map[string]Revocation{
		k(2): {Serial: big.NewInt(2)},                                  // expiry unknown: must stay
		k(3): {Serial: big.NewInt(3), Expiry: testNow.Add(time.Hour)},  // unexpired: must stay
		k(4): {Serial: big.NewInt(4), Expiry: testNow.Add(-time.Hour)}, // expired: may go
	}
	if n := earlyRemovals(prev, cur, record, testNow); n != 2 {
		t.Errorf("early removals = %d, want 2 (serials 2 and 3)", n)
	}
	if n := earlyRemovals(prev, prev, record, testNow); n != 0 {
		t.Errorf("same CRL: %d early removals", n)
	}
}
