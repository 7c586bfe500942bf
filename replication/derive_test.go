package replication

import (
	"math"
	"testing"
	"time"
)

const seg16 = 16 << 20

// cutScenario: the primary writes 1 MB/s for 600 s with wal_keep_size
// 512 MB (32 segments); the replica stopped receiving at 300 MB. pg_wal's
// oldest segment is at 250 MB.
func cutScenario() DeriveInput {
	ph, rh := NewHistory(time.Hour, 5*time.Second), NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 600; s += 5 {
		ph.Add(at(float64(s)), LSN(1_000_000*s))
		rh.Add(at(float64(s)), LSN(min(1_000_000*s, 300_000_000)))
	}
	return DeriveInput{
		Replica: ReplicaStatus{ReceiveLSN: 300_000_000, HasReceive: true, ReplayLSN: 300_000_000},
		Primary: &PrimaryStatus{FlushLSN: 600_000_000, SegmentSize: seg16, WALKeepBytes: 32 * seg16,
			OldestSegment: SegmentStart(250_000_000, seg16), HasOldest: true},
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
	// The replica resumes in segment 17 (300e6 / 16 MiB); a checkpoint keeps
	// 32 segments behind its own, so segment 17 goes once the primary
	// reaches segment 50: at 50 * 16 MiB.
	want := float64(50*seg16 - 600_000_000)
	if !v.HasHeadroom || v.WALLost || v.HeadroomBytes != want {
		t.Errorf("headroom = %v lost %v, want %v", v.HeadroomBytes, v.WALLost, want)
	}
	// The replica advanced 0 B/s over the window, the primary 1 MB/s.
	if want := want / 1e6; !v.HasETA || math.Abs(v.ETASeconds-want) > 1e-9 {
		t.Errorf("eta = %v, want %v", v.ETASeconds, want)
	}
}

// Between checkpoints pg_wal does not change, yet every byte the primary
// writes is a byte less headroom (issue 10, item 3).
func TestDeriveHeadroomFallsByBytesWritten(t *testing.T) {
	in := cutScenario()
	before := Derive(in).HeadroomBytes
	in.Primary.FlushLSN += 12_345_678
	if after := Derive(in).HeadroomBytes; before-after != 12_345_678 {
		t.Errorf("headroom %v -> %v after 12345678 bytes, want it %v lower", before, after, 12_345_678)
	}
}

// At the line the headroom is 0, yet the segment is still there until a
// checkpoint removes it: not lost, and nothing to restore yet.
func TestDeriveHeadroomZeroBeforeCheckpoint(t *testing.T) {
	in := cutScenario()
	in.Primary.FlushLSN = 50*seg16 + 1000
	v := Derive(in)
	if v.HeadroomBytes != 0 || v.WALLost || v.Unrecoverable || v.ETASeconds != 0 {
		t.Errorf("past the line before a checkpoint: headroom %v lost %v unrecoverable %v eta %v; want 0 false false 0",
			v.HeadroomBytes, v.WALLost, v.Unrecoverable, v.ETASeconds)
	}
}

// No wal_keep_size: only the rest of the replica's own segment (the redo
// pointer may hold more, but the next checkpoint moves it).
func TestDeriveHeadroomWithoutWALKeep(t *testing.T) {
	in := cutScenario()
	in.Primary.WALKeepBytes = 0
	in.Primary.FlushLSN = 17*seg16 + 100
	if v := Derive(in); v.HeadroomBytes != seg16-100 {
		t.Errorf("headroom %v, want %v", v.HeadroomBytes, seg16-100)
	}
}

func TestDeriveWALLost(t *testing.T) {
	in := cutScenario()
	in.Primary.OldestSegment = SegmentStart(400_000_000, seg16)
	v := Derive(in)
	if !v.WALLost || !v.Unrecoverable || v.HeadroomBytes != 0 || v.ETASeconds != 0 {
		t.Errorf("lost = %v unrecoverable %v headroom %v eta %v; want true, true, 0, 0", v.WALLost, v.Unrecoverable, v.HeadroomBytes, v.ETASeconds)
	}
	// Same segment as the oldest: still there, not lost.
	in.Primary.OldestSegment = SegmentStart(300_000_000, seg16)
	if v := Derive(in); v.WALLost || v.HeadroomBytes == 0 {
		t.Errorf("replica inside the oldest segment: lost %v headroom %v", v.WALLost, v.HeadroomBytes)
	}
}

// Removed from the primary is not unrecoverable when the replica restores
// from an archive that holds the segment.
func TestDeriveArchive(t *testing.T) {
	in := cutScenario()
	in.Primary.OldestSegment = SegmentStart(400_000_000, seg16)
	archived := Archiver{Enabled: true, HasArchived: true, LastArchivedEnd: SegmentStart(590_000_000, seg16)}
	for _, tc := range []struct {
		name          string
		restore       bool
		archiver      Archiver
		unrecoverable bool
	}{
		{"restore_command and archived", true, archived, false},
		{"no restore_command", false, archived, true},
		{"archive_mode off", true, Archiver{}, true},
		{"archiver behind the replica", true, Archiver{Enabled: true, HasArchived: true, LastArchivedEnd: SegmentStart(300_000_000, seg16)}, true},
	} {
		in.Replica.RestoreCommand = tc.restore
		in.Primary.Archiver = tc.archiver
		v := Derive(in)
		if !v.WALLost || v.Unrecoverable != tc.unrecoverable {
			t.Errorf("%s: lost %v unrecoverable %v, want true %v", tc.name, v.WALLost, v.Unrecoverable, tc.unrecoverable)
		}
	}
}

// A cascading replica is measured against its upstream replica, which sends
// what it has received: with the upstream's replay paused, the cascade is
// not behind it.
func TestDeriveCascade(t *testing.T) {
	up := ReplicaStatus{ReceiveLSN: 500_000_000, HasReceive: true, ReplayLSN: 100_000_000, ReplayPaused: true,
		SegmentSize: seg16, WALKeepBytes: 2 * seg16, OldestSegment: SegmentStart(90_000_000, seg16), HasOldest: true}
	uh, ch := NewHistory(time.Hour, time.Second), NewHistory(time.Hour, time.Second)
	uh.Add(at(0), 400_000_000)
	uh.Add(at(10), 500_000_000)
	ch.Add(at(0), 400_000_000)
	ch.Add(at(10), 500_000_000)
	in := DeriveInput{
		Replica: ReplicaStatus{ReceiveLSN: 500_000_000, HasReceive: true, ReplayLSN: 500_000_000},
		Primary: up.asUpstream(), PrimaryHistory: uh, ReplicaHistory: ch, RateWindow: time.Minute, Now: at(10),
	}
	v := Derive(in)
	if v.ReceiveLagBytes != 0 || v.ReplayLagBytes != 0 || v.ReplayLagSeconds != 0 {
		t.Errorf("cascade behind a paused upstream: lag %d/%d B %v s, want 0", v.ReceiveLagBytes, v.ReplayLagBytes, v.ReplayLagSeconds)
	}
	// Headroom by the upstream's own wal_keep_size (2 segments).
	if want := float64((500_000_000/seg16+3)*seg16 - 500_000_000); v.HeadroomBytes != want {
		t.Errorf("cascade headroom %v, want %v", v.HeadroomBytes, want)
	}
}

func TestDeriveSyncState(t *testing.T) {
	in := cutScenario()
	in.Name = "replica-sync"
	in.Primary.Senders = []Sender{{ApplicationName: "replica-1", SyncState: "async"}, {ApplicationName: "replica-sync", SyncState: "sync"}}
	if v := Derive(in); v.SyncState != "sync" {
		t.Errorf("sync state %q, want sync", v.SyncState)
	}
	in.Name = "replica-9"
	if v := Derive(in); v.SyncState != "" {
		t.Errorf("unknown standby: sync state %q, want none", v.SyncState)
	}
}

// Without pg_read_all_stats the receiver's status reads NULL: unknown, not
// "not streaming".
func TestStreamingHiddenIsUnknown(t *testing.T) {
	for _, tc := range []struct {
		s               ReplicaStatus
		streaming, know bool
	}{
		{ReplicaStatus{ReceiverRunning: true, ReceiverStatus: "streaming"}, true, true},
		{ReplicaStatus{ReceiverRunning: true}, false, false},
		{ReplicaStatus{}, false, true},
		{ReplicaStatus{ReceiverRunning: true, ReceiverStatus: "waiting"}, false, true},
	} {
		if s, k := tc.s.Streaming(); s != tc.streaming || k != tc.know {
			t.Errorf("%+v: streaming %v known %v, want %v %v", tc.s, s, k, tc.streaming, tc.know)
		}
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
		Primary:        &PrimaryStatus{FlushLSN: 0x3000148, SegmentSize: seg16, WALKeepBytes: 2 * seg16, OldestSegment: 0x1000000, HasOldest: true},
		PrimaryHistory: ph, ReplicaHistory: ph, RateWindow: time.Minute, Now: at(61),
	}
	v := Derive(in)
	if v.ReplayLagSeconds != 0 || !math.IsInf(v.ETASeconds, 1) || v.HeadroomBytes != 0x6000000-0x3000148 {
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
	in.Primary.Slots[0].WALStatus = "unreserved"
	in.Primary.Slots[0].SafeWALSize = &safe
	if v := Derive(in); v.ETASeconds != 0 || !v.HasETA {
		t.Errorf("unreserved slot: ETA %v; want 0 (lost at the next checkpoint)", v.ETASeconds)
	}
	// A slot the primary does not have, or one that never reserved WAL,
	// holds nothing: the slotless rule applies, and the view says so.
	slotless := in
	slotless.Slot = ""
	want := Derive(slotless)
	for name, slots := range map[string][]Slot{"missing": nil, "never reserved": {{Name: "replica_1"}}} {
		in.Primary.Slots = slots
		v := Derive(in)
		if !v.SlotHoldsNothing || !v.HasHeadroom || v.HeadroomBytes != want.HeadroomBytes || v.WALLost != want.WALLost {
			t.Errorf("%s slot: holds nothing %v, headroom %v lost %v; want true and the slotless %v, %v",
				name, v.SlotHoldsNothing, v.HeadroomBytes, v.WALLost, want.HeadroomBytes, want.WALLost)
		}
	}
}

// Past the keep line the next checkpoint removes the resume segment: the ETA
// is 0 even when the replica keeps pace with the primary (rates equal).
func TestDeriveNoHeadroomIsImminentAtAnyRate(t *testing.T) {
	ph, rh := NewHistory(time.Hour, 5*time.Second), NewHistory(time.Hour, 5*time.Second)
	for s := 0; s <= 60; s += 5 {
		ph.Add(at(float64(s)), LSN(0x9000000+s*0x10000))
		rh.Add(at(float64(s)), LSN(0x3000000+s*0x10000))
	}
	in := DeriveInput{
		Replica:        ReplicaStatus{ReceiveLSN: 0x33c0000, HasReceive: true, ReplayLSN: 0x33c0000},
		Primary:        &PrimaryStatus{FlushLSN: 0x93c0000, SegmentSize: seg16, WALKeepBytes: 2 * seg16, OldestSegment: 0x3000000, HasOldest: true},
		PrimaryHistory: ph, ReplicaHistory: rh, RateWindow: time.Minute, Now: at(61),
	}
	v := Derive(in)
	if v.HeadroomBytes != 0 || v.WALLost || v.ETASeconds != 0 || !v.HasETA {
		t.Errorf("headroom %v lost %v ETA %v; want 0, false (not yet removed), 0", v.HeadroomBytes, v.WALLost, v.ETASeconds)
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
