package view

import (
	"math/big"
	"sort"
	"testing"
	"time"
)

func TestParseStateRoundTrips(t *testing.T) {
	for _, s := range States() {
		got, ok := ParseState(s.String())
		if !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if _, ok := ParseState("late"); ok {
		t.Error(`ParseState("late") accepted`)
	}
}

func cert(serial int64, published time.Time, states ...State) Certificate {
	c := Certificate{Serial: big.NewInt(serial), PublishedAt: published}
	for _, s := range states {
		c.Origins = append(c.Origins, OriginAnswer{State: s})
	}
	return c
}

func TestWorstAndMatches(t *testing.T) {
	c := cert(1, time.Time{}, Authoritative, Overdue, Pending)
	if c.Worst() != Overdue {
		t.Errorf("Worst = %v, want overdue", c.Worst())
	}
	if !(CertificateQuery{States: []State{Pending}}).Matches(c) {
		t.Error("pending at one origin does not match state=pending")
	}
	if (CertificateQuery{States: []State{Pending}}).Matches(cert(2, time.Time{}, Authoritative, Overdue)) {
		t.Error("a certificate pending nowhere matches state=pending")
	}
	if !(CertificateQuery{}).Matches(cert(3, time.Time{}, Authoritative)) {
		t.Error("an empty query does not match everything")
	}
}

func TestBeforeOrdersWorstThenOldestThenSerial(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certs := []Certificate{
		cert(5, t0, Authoritative),
		cert(4, t0.Add(time.Hour), Pending),
		cert(3, t0.Add(time.Minute), Overdue),
		cert(2, t0, Overdue, Authoritative),
		cert(1, t0, Overdue),
	}
	sort.Slice(certs, func(i, j int) bool { return Before(certs[i], certs[j]) })
	var got []int64
	for _, c := range certs {
		got = append(got, c.Serial.Int64())
	}
	want := []int64{1, 2, 3, 4, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}
