package replication

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// steady: 1 MB/s written, sampled every 5 s for 10 minutes.
func steadyHistory() *History {
	h := NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 600; s += 5 {
		h.Add(at(float64(s)), LSN(1_000_000*s))
	}
	return h
}

func TestHistoryIdlePrimary(t *testing.T) {
	h := NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 60; s += 5 {
		h.Add(at(float64(s)), 0x3000148)
	}
	if r, ok := h.Rate(5 * time.Minute); !ok || r != 0 {
		t.Errorf("idle rate = %v, %v; want 0, true", r, ok)
	}
	if age, exact, ok := h.Since(0x3000148, at(62)); !ok || !exact || age != 0 {
		t.Errorf("caught-up replica on an idle primary: age %v exact %v ok %v; want 0", age, exact, ok)
	}
}

func TestHistorySteady(t *testing.T) {
	h := steadyHistory()
	if r, ok := h.Rate(5 * time.Minute); !ok || math.Abs(r-1_000_000) > 1e-6 {
		t.Errorf("steady rate = %v, want 1e6", r)
	}
	// A replica replaying position 500 MB was where the primary was at 500 s.
	age, exact, _ := h.Since(500_000_000, at(600))
	if !exact || age != 100*time.Second {
		t.Errorf("age = %v (exact %v), want 100s", age, exact)
	}
	// Between samples the moment is interpolated: 502.5 MB -> 502.5 s.
	if age, _, _ := h.Since(502_500_000, at(600)); age != 97500*time.Millisecond {
		t.Errorf("interpolated age = %v, want 97.5s", age)
	}
}

// cut: the replica stops at one position while the primary goes on; its age
// must grow with wall time, one second per second.
func TestHistoryCutGrowsWithWallTime(t *testing.T) {
	h := steadyHistory()
	stuck := LSN(300_000_000)
	prev := time.Duration(-1)
	for now := 600.0; now <= 660; now += 5 {
		h.Add(at(now), LSN(1_000_000*now))
		age, _, _ := h.Since(stuck, at(now))
		if want := time.Duration((now - 300) * float64(time.Second)); age != want {
			t.Errorf("at %vs age = %v, want %v", now, age, want)
		}
		if age <= prev {
			t.Errorf("age did not grow: %v after %v", age, prev)
		}
		prev = age
	}
}

// burst: idle for a long time, then a burst; the rate over the window
// reflects only the window and the lag is bounded by the burst's start.
func TestHistoryBurst(t *testing.T) {
	h := NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 1200; s += 5 {
		h.Add(at(float64(s)), 1000)
	}
	h.Add(at(1205), 1000+64<<20)
	r, _ := h.Rate(5 * time.Minute)
	if want := float64(64<<20) / 300; math.Abs(r-want) > 1 {
		t.Errorf("burst rate = %v, want %v", r, want)
	}
	age, exact, _ := h.Since(1000, at(1206))
	if !exact || age > 6*time.Second {
		t.Errorf("age after a burst = %v, want at most 6s (the primary left 1000 after t=1200)", age)
	}
}

func TestHistoryOlderThanHistoryIsLowerBound(t *testing.T) {
	h := NewHistory(time.Minute, 10*time.Second) // keeps 8 samples
	for s := 0; s <= 300; s += 10 {
		h.Add(at(float64(s)), LSN(1000+s))
	}
	if h.Len() != 8 {
		t.Fatalf("history holds %d samples, want 8 (bounded)", h.Len())
	}
	age, exact, ok := h.Since(500, at(300))
	if !ok || exact || age != 70*time.Second {
		t.Errorf("age = %v exact %v ok %v; want the oldest sample's age 70s, inexact", age, exact, ok)
	}
}

func TestHistoryResetsWhenPositionGoesBack(t *testing.T) {
	h := steadyHistory()
	h.Add(at(605), 42)
	if h.Len() != 1 {
		t.Errorf("len = %d after the position went back, want 1", h.Len())
	}
	if _, ok := h.Rate(time.Minute); ok {
		t.Error("rate from a single sample")
	}
}
