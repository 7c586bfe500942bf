package view

import (
	"math/big"
	"slices"
	"testing"
	"time"
)

func cert(serial string, published time.Time, states ...string) Certificate {
	c := Certificate{Serial: serial, PublishedAt: published}
	for _, s := range states {
		c.Origins = append(c.Origins, OriginAnswer{State: s})
	}
	return c
}

func TestWorst(t *testing.T) {
	if w := cert("1", time.Time{}, StateAuthoritative, StateOverdue, StatePending).Worst(); w != StateOverdue {
		t.Errorf("Worst = %s, want overdue", w)
	}
	if w := cert("1", time.Time{}).Worst(); w != StateAuthoritative {
		t.Errorf("Worst with no origins = %s", w)
	}
}

func TestCompareOrdersWorstThenOldestThenSerial(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certs := []Certificate{
		cert("5", t0, StateAuthoritative),
		cert("4", t0.Add(time.Hour), StatePending),
		cert("3", t0.Add(time.Minute), StateOverdue),
		cert("10", t0, StateOverdue, StateAuthoritative),
		cert("f", t0, StateOverdue),
	}
	slices.SortFunc(certs, Compare)
	var got []string
	for _, c := range certs {
		got = append(got, c.Serial)
	}
	if want := []string{"f", "10", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestSerialHexIsEvenLength(t *testing.T) {
	for in, want := range map[int64]string{0x0b38c8: "0b38c8", 0xabcd: "abcd", 0x8a: "8a", 1: "01"} {
		if got := SerialHex(big.NewInt(in)); got != want {
			t.Errorf("SerialHex(%#x) = %s, want %s", in, got, want)
		}
	}
}
