package main

import (
	"math/big"
	"testing"
	"time"
)

// Two nodes with the same rows render the same version; a new revocation or
// a new window raises the number; a node missing a revocation renders a lower
// number for the same window.
func TestCRLVersion(t *testing.T) {
	w := 10 * time.Second
	t0 := time.Date(2026, 11, 27, 6, 0, 3, 0, time.UTC)
	r1 := revoked{serial: big.NewInt(1), revokedAt: t0.Add(-time.Hour)}
	r2 := revoked{serial: big.NewInt(2), revokedAt: t0.Add(2*time.Second + 400*time.Millisecond)}
	this1, n1 := crlVersion([]revoked{r1}, t0, w)
	if !this1.Equal(time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("thisUpdate = %s, want the window start", this1)
	}
	if _, again := crlVersion([]revoked{r1}, t0.Add(time.Second), w); again.Cmp(n1) != 0 {
		t.Errorf("same rows, same window: %s then %s", n1, again)
	}
	this2, n2 := crlVersion([]revoked{r1, r2}, t0.Add(3*time.Second), w)
	if !this2.Equal(t0.Add(2*time.Second)) || n2.Cmp(n1) <= 0 {
		t.Errorf("after a revocation: thisUpdate %s number %s (before %s)", this2, n2, n1)
	}
	if _, lagging := crlVersion([]revoked{r1}, t0.Add(3*time.Second), w); lagging.Cmp(n2) >= 0 {
		t.Errorf("a node without the revocation renders %s, not below %s", lagging, n2)
	}
	if _, next := crlVersion([]revoked{r1, r2}, t0.Add(w), w); next.Cmp(n2) <= 0 {
		t.Errorf("next window: %s not above %s", next, n2)
	}
}
