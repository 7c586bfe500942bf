package replication

import (
	"math"
	"time"
)

// ReplicaView is everything the exporter publishes about one replica, derived
// from the replica's own status plus, when configured, its upstream's (the
// primary, or for a cascading replica the replica it streams from).
type ReplicaView struct {
	Status ReplicaStatus

	// HasPrimary: the upstream was read successfully; the fields below that
	// need it are valid only then.
	HasPrimary      bool
	ReceiveLagBytes uint64
	ReplayLagBytes  uint64

	// ReplayLagSeconds: from the upstream's position history when HasPrimary,
	// else from the last replayed commit's timestamp (see Derive).
	ReplayLagSeconds float64

	// HasHeadroom: the upstream's retention (or the replica's slot) could be read.
	HasHeadroom   bool
	HeadroomBytes float64 // +Inf when a slot's retention is unlimited
	// WALLost: the upstream no longer has WAL this replica needs (removed
	// from the primary); it may still come from an archive.
	WALLost bool
	// Unrecoverable: WALLost, and no WAL archive the replica restores from is
	// known to hold what it needs.
	Unrecoverable bool
	// SlotStatus is the slot's wal_status when the replica has a slot.
	SlotStatus string
	// SlotHoldsNothing: a slot is configured, but the upstream has no such
	// slot or it never reserved WAL; headroom is then the slotless rule's.
	SlotHoldsNothing bool
	// SyncState is the upstream's sync_state for this standby ("" unknown).
	SyncState string
	// HasETA: headroom known and both WAL rates measured.
	HasETA     bool
	ETASeconds float64 // +Inf when the gap is not growing
}

// DeriveInput gathers the inputs of Derive.
type DeriveInput struct {
	Name    string
	Replica ReplicaStatus
	// Primary is the upstream: the primary, or the replica a cascading
	// replica streams from; nil when not configured or its probe failed.
	Primary *PrimaryStatus
	// PrimaryHistory holds the upstream's positions, ReplicaHistory this
	// replica's positions.
	PrimaryHistory, ReplicaHistory *History
	// Slot is the replica's configured slot name, "" for none.
	Slot       string
	RateWindow time.Duration
	Now        time.Time
}

// Derive computes a ReplicaView. Without a primary, ReplayLagSeconds falls
// back to postgres_exporter's rule: 0 when everything received is replayed,
// else the age of the last replayed commit. That rule reads 0 during a
// network cut, which is why configuring the primary is recommended.
func Derive(in DeriveInput) ReplicaView {
	r := in.Replica
	v := ReplicaView{Status: r}
	if in.Primary == nil {
		if r.HasReceive && r.ReceiveLSN > r.ReplayLSN && !r.LastReplay.IsZero() {
			v.ReplayLagSeconds = math.Max(0, in.Now.Sub(r.LastReplay).Seconds())
		}
		return v
	}
	p := in.Primary
	v.HasPrimary = true
	v.ReceiveLagBytes = p.FlushLSN.Minus(r.Position())
	// A cascading replica may replay past its upstream's replay position
	// (the upstream sends what it received); Minus floors at 0.
	v.ReplayLagBytes = p.FlushLSN.Minus(r.ReplayLSN)
	if age, _, ok := in.PrimaryHistory.Since(r.ReplayLSN, in.Now); ok {
		v.ReplayLagSeconds = age.Seconds()
	}
	for _, se := range p.Senders {
		if se.ApplicationName == in.Name {
			v.SyncState = se.SyncState
		}
	}

	need := SegmentStart(r.Position(), max(p.SegmentSize, 1))
	// A slot holds WAL only once it has reserved some (wal_status set): a
	// missing slot, or one created without reserving, promises nothing.
	slot := findSlot(p.Slots, in.Slot)
	v.SlotHoldsNothing = in.Slot != "" && (slot == nil || slot.WALStatus == "")
	if in.Slot != "" && !v.SlotHoldsNothing {
		v.HasHeadroom = true
		v.SlotStatus = slot.WALStatus
		v.WALLost = slot.WALStatus == "lost"
		switch {
		case v.WALLost:
			v.HeadroomBytes = 0
		case slot.SafeWALSize == nil:
			v.HeadroomBytes = math.Inf(1)
		default:
			v.HeadroomBytes = math.Max(0, float64(*slot.SafeWALSize))
		}
	} else if p.HasOldest && p.SegmentSize > 0 {
		v.HasHeadroom = true
		v.WALLost = need < p.OldestSegment
		v.HeadroomBytes = slotlessHeadroom(r.Position(), p)
	}
	if !v.HasHeadroom {
		return v
	}
	v.Unrecoverable = v.WALLost && !(r.RestoreCommand && archiveHolds(p.Archiver, need))
	v.ETASeconds, v.HasETA = eta(v, in)
	return v
}

// slotlessHeadroom is how many more bytes the upstream may write before a
// checkpoint (a restartpoint on a standby) may remove the segment the
// replica resumes from. PostgreSQL's rule, KeepLogSeg() in
// src/backend/access/transam/xlog.c: a checkpoint at position cur keeps the
// segments from segment_of(cur) - wal_keep_size/segment_size on (older ones
// only while a slot or the redo pointer holds them, which is no promise to a
// slotless replica). So the resume segment s survives while
// segment_of(cur) <= s + keep_segs, i.e. until cur reaches
// (s + keep_segs + 1) * segment_size: the same "failLSN" that
// pg_get_replication_slots() computes for safe_wal_size in
// src/backend/replication/slotfuncs.c. A segment already gone from pg_wal
// leaves no headroom, whatever the rule says.
func slotlessHeadroom(pos LSN, p *PrimaryStatus) float64 {
	seg := p.SegmentSize
	resume := uint64(pos) / seg
	if p.HasOldest && LSN(resume*seg) < p.OldestSegment {
		return 0
	}
	fail := LSN((resume + p.WALKeepBytes/seg + 1) * seg)
	return float64(fail.Minus(p.FlushLSN))
}

// archiveHolds: the primary's archiver has archived the segment starting at
// need (archives are kept, so everything up to the last archived segment is
// there).
func archiveHolds(a Archiver, need LSN) bool {
	return a.Enabled && a.HasArchived && a.LastArchivedEnd > need
}

// eta: headroom shrinks as fast as the upstream's WAL outruns the replica's.
func eta(v ReplicaView, in DeriveInput) (float64, bool) {
	// Nothing left (past the keep line, or an unreserved slot): the next
	// checkpoint removes what the replica needs, whatever the rates.
	if v.WALLost || v.HeadroomBytes <= 0 || v.SlotStatus == "unreserved" {
		return 0, true
	}
	if math.IsInf(v.HeadroomBytes, 1) {
		return math.Inf(1), true
	}
	primaryRate, ok1 := in.PrimaryHistory.Rate(in.RateWindow)
	replicaRate, ok2 := in.ReplicaHistory.Rate(in.RateWindow)
	if !ok1 || !ok2 {
		return 0, false
	}
	// A replica that has everything is not falling behind. Otherwise the two
	// rates are sampled moments apart, so a gap growing at under 1% of the
	// primary's rate is noise (and would take 100x the retention anyway).
	closing := primaryRate - replicaRate
	if v.ReceiveLagBytes == 0 || closing < max(1, primaryRate/100) {
		return math.Inf(1), true
	}
	return v.HeadroomBytes / closing, true
}

func findSlot(slots []Slot, name string) *Slot {
	if name == "" {
		return nil
	}
	for i := range slots {
		if slots[i].Name == name {
			return &slots[i]
		}
	}
	return nil
}
