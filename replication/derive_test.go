package replication

import (
	"math"
	"testing"
	"time"
)

const seg16 = 16 << 20

// cutScenario: the primary writes 1 MB/s for 600 s; the replica stopped
// receiving at 300 MB. pg_wal's oldest segment is at 250 MB.
func cutScenario() DeriveInput {
	ph, rh := NewHistory(time.Hour, 5*time.Second), NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 600; s += 5 {
		ph.Add(at(float64(s)), LSN(1_000_000*s))
		rh.Add(at(float64(s)), LSN(min(1_000_000*s, 300_000_000)))
	}
	return DeriveInput{
		Replica:        ReplicaStatus{ReceiveLSN: 300_000_000, HasReceive: true, ReplayLSN: 300_000_000},
		Primary:        &PrimaryStatus{FlushLSN: 600_000_000, SegmentSize: seg16, OldestSegment: SegmentStart(250_000_000, seg16), HasOldest: true},
		PrimaryHistory: ph, ReplicaHistory: rh, RateWindow: 5 * time.Minute, Now: at(600),
	}
}

func TestDeriveCut(t *testing.T) {
	in := cutScenario()
	v := Derive(in)
	if v.ReceiveLagBytes != 300_000_000 || v.ReplayLagBytes != 300_000_000 {
		t.Errorf("lag bytes = %d/%d, want 300000000", v.ReceiveLagBytes, v.ReplayLagBytes)
	}
	if v.ReplayLagSeconds != 300 {
		t.Errorf("lag seconds = %v, want 300", v.ReplayLagSeconds)
	}
	need, oldest := SegmentStart(300_000_000, seg16), SegmentStart(250_000_000, seg16)
	if !v.HasHeadroom || v.WALLost || v.HeadroomBytes != float64(need-oldest) {
		t.Errorf("headroom = %v lost %v, want %d", v.HeadroomBytes, v.WALLost, need-oldest)
	}
	// The replica advanced 0 B/s over the window, the primary 1 MB/s.
	if want := float64(need-oldest) / 1e6; !v.HasETA || math.Abs(v.ETASeconds-want) > 1e-9 {
		t.Errorf("eta = %v, want %v", v.ETASeconds, want)
	}
}

func TestDeriveWALLost(t *testing.T) {
	in := cutScenario()
	in.Primary.OldestSegment = SegmentStart(400_000_000, seg16)
	v := Derive(in)
	if !v.WALLost || v.HeadroomBytes != 0 || v.ETASeconds != 0 {
		t.Errorf("lost = %v headroom %v eta %v; want true, 0, 0", v.WALLost, v.HeadroomBytes, v.ETASeconds)
	}
	// Same segment as the oldest: still there, not lost.
	in.Primary.OldestSegment = SegmentStart(300_000_000, seg16)
	if v := Derive(in); v.WALLost || v.HeadroomBytes != 0 {
		t.Errorf("replica inside the oldest segment: lost %v headroom %v", v.WALLost, v.HeadroomBytes)
	}
}

func TestDeriveStreamingReplicaHasNoFiniteETA(t *testing.T) {
	in := cutScenario()
	rh := NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 600; s += 5 {
		rh.Add(at(float64(s)), LSN(1_000_000*s))
	}
	in.ReplicaHistory = rh
	in.Replica = ReplicaStatus{ReceiveLSN: 600_000_000, HasReceive: true, ReplayLSN: 600_000_000, ReceiverStatus: "streaming"}
	v := Derive(in)
	if v.ReplayLagBytes != 0 || v.ReplayLagSeconds != 0 || !math.IsInf(v.ETASeconds, 1) {
		t.Errorf("caught up: lag %d B %v s eta %v; want 0, 0, +Inf", v.ReplayLagBytes, v.ReplayLagSeconds, v.ETASeconds)
	}
}

func TestDeriveIdlePrimaryETAInfinite(t *testing.T) {
	ph := NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 60; s += 5 {
		ph.Add(at(float64(s)), 0x3000148)
	}
	in := DeriveInput{
		Replica:        ReplicaStatus{ReceiveLSN: 0x3000148, HasReceive: true, ReplayLSN: 0x3000148},
		Primary:        &PrimaryStatus{FlushLSN: 0x3000148, SegmentSize: seg16, OldestSegment: 0x1000000, HasOldest: true},
		PrimaryHistory: ph, ReplicaHistory: ph, RateWindow: time.Minute, Now: at(61),
	}
	v := Derive(in)
	if v.ReplayLagSeconds != 0 || !math.IsInf(v.ETASeconds, 1) || v.HeadroomBytes != 0x2000000 {
		t.Errorf("idle: lag %v s, eta %v, headroom %v", v.ReplayLagSeconds, v.ETASeconds, v.HeadroomBytes)
	}
}

func TestDeriveSlot(t *testing.T) {
	in := cutScenario()
	in.Slot = "replica_1"
	safe := int64(10_000_000)
	in.Primary.Slots = []Slot{{Name: "replica_1", WALStatus: "reserved", SafeWALSize: &safe}}
	if v := Derive(in); v.HeadroomBytes != 1e7 || v.ETASeconds != 10 {
		t.Errorf("slot headroom %v eta %v; want 1e7, 10", v.HeadroomBytes, v.ETASeconds)
	}
	in.Primary.Slots[0].SafeWALSize = nil
	if v := Derive(in); !math.IsInf(v.HeadroomBytes, 1) || !math.IsInf(v.ETASeconds, 1) {
		t.Errorf("unlimited slot: headroom %v eta %v; want +Inf", v.HeadroomBytes, v.ETASeconds)
	}
	in.Primary.Slots[0].WALStatus = "lost"
	if v := Derive(in); !v.WALLost {
		t.Error("lost slot not reported as WAL lost")
	}
	in.Slot = "missing"
	if v := Derive(in); v.HasHeadroom {
		t.Error("headroom reported for a slot the primary does not have")
	}
}

func TestDeriveWithoutPrimary(t *testing.T) {
	now := at(100)
	in := DeriveInput{Now: now, Replica: ReplicaStatus{ReceiveLSN: 2000, HasReceive: true, ReplayLSN: 1000, LastReplay: at(40)}}
	v := Derive(in)
	if v.HasPrimary || v.HasHeadroom || v.HasETA || v.ReplayLagSeconds != 60 {
		t.Errorf("no primary: %+v; want only replay lag 60s from the commit timestamp", v)
	}
	in.Replica.ReplayLSN = 2000
	if v := Derive(in); v.ReplayLagSeconds != 0 {
		t.Errorf("all received replayed: lag %v, want 0", v.ReplayLagSeconds)
	}
}

// On an idle primary a checkpoint record moves the position a little, and the
// two histories are sampled moments apart: that noise is not a finite ETA.
func TestDeriveIdleNoiseIsNotAnETA(t *testing.T) {
	ph, rh := NewHistory(time.Hour, time.Second), NewHistory(time.Hour, time.Second)
	ph.Add(at(0), 1000)
	rh.Add(at(0.4), 1000)
	ph.Add(at(10), 1120) // a checkpoint record
	rh.Add(at(9.9), 1000)
	in := DeriveInput{
		Replica:        ReplicaStatus{ReceiveLSN: 1120, HasReceive: true, ReplayLSN: 1120},
		Primary:        &PrimaryStatus{FlushLSN: 1120, SegmentSize: seg16, OldestSegment: 0, HasOldest: true},
		PrimaryHistory: ph, ReplicaHistory: rh, RateWindow: time.Minute, Now: at(10),
	}
	if v := Derive(in); !math.IsInf(v.ETASeconds, 1) {
		t.Errorf("caught-up replica: ETA %v, want +Inf", v.ETASeconds)
	}
	// Behind by a little, but keeping pace within 1%: still +Inf.
	ph2, rh2 := NewHistory(time.Hour, time.Second), NewHistory(time.Hour, time.Second)
	ph2.Add(at(0), 0)
	ph2.Add(at(100), 100_000_000)
	rh2.Add(at(0), 0)
	rh2.Add(at(100), 99_500_000)
	in.PrimaryHistory, in.ReplicaHistory = ph2, rh2
	in.Primary.FlushLSN, in.Replica.ReceiveLSN, in.Replica.ReplayLSN = 100_000_000, 99_500_000, 99_500_000
	if v := Derive(in); !math.IsInf(v.ETASeconds, 1) {
		t.Errorf("replica keeping pace within 0.5%%: ETA %v, want +Inf", v.ETASeconds)
	}
}
