package replication

import (
	"math"
	"time"
)

// ReplicaView is everything the exporter publishes about one replica, derived
// from the replica's own status plus, when configured, the primary's.
type ReplicaView struct {
	Status ReplicaStatus

	// HasPrimary: the primary was read successfully; the fields below that
	// need it are valid only then.
	HasPrimary      bool
	ReceiveLagBytes uint64
	ReplayLagBytes  uint64

	// ReplayLagSeconds: from the primary's position history when HasPrimary,
	// else from the last replayed commit's timestamp (see Derive).
	ReplayLagSeconds float64

	// HasHeadroom: the primary's pg_wal (or the replica's slot) could be read.
	HasHeadroom   bool
	HeadroomBytes float64 // +Inf when a slot's retention is unlimited
	WALLost       bool
	// HasETA: headroom known and both WAL rates measured.
	HasETA     bool
	ETASeconds float64 // +Inf when the gap is not growing
}

// DeriveInput gathers the inputs of Derive.
type DeriveInput struct {
	Replica ReplicaStatus
	// Primary is nil when no primary is configured or its probe failed.
	Primary *PrimaryStatus
	// PrimaryHistory holds the primary's flush positions, ReplicaHistory
	// this replica's positions.
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
	v.ReplayLagBytes = p.FlushLSN.Minus(r.ReplayLSN)
	if age, _, ok := in.PrimaryHistory.Since(r.ReplayLSN, in.Now); ok {
		v.ReplayLagSeconds = age.Seconds()
	}

	if in.Slot != "" {
		slot := findSlot(p.Slots, in.Slot)
		if slot == nil {
			return v
		}
		v.HasHeadroom = true
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
		// Streaming resumes at the start of the segment holding the replica's
		// position; the primary must still have that segment.
		need := SegmentStart(r.Position(), p.SegmentSize)
		v.HasHeadroom = true
		v.WALLost = need < p.OldestSegment
		v.HeadroomBytes = float64(need.Minus(p.OldestSegment))
	}
	if !v.HasHeadroom {
		return v
	}
	v.ETASeconds, v.HasETA = eta(v, in)
	return v
}

// eta: headroom shrinks as fast as the primary's WAL outruns the replica's.
func eta(v ReplicaView, in DeriveInput) (float64, bool) {
	if v.WALLost {
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
	for i := range slots {
		if slots[i].Name == name {
			return &slots[i]
		}
	}
	return nil
}
