package replication

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Every replication metric description, declared once. The README's metric
// reference is checked against these by a test.
var (
	replicaUp            = target.Desc("replica_up", "Whether the last probe of this replica succeeded.", "replica")
	replicaStreaming     = target.Desc("replica_wal_receiver_streaming", "Whether the replica's WAL receiver is streaming.", "replica")
	replicaReplayPaused  = target.Desc("replica_replay_paused", "Whether WAL replay is paused on the replica.", "replica")
	replicaLastMsgAge    = target.Desc("replica_last_message_age_seconds", "Seconds since the replica's WAL receiver last heard from the primary.", "replica")
	replicaReceiveLag    = target.Desc("replica_receive_lag_bytes", "Bytes of WAL flushed on the primary but not yet received by the replica.", "replica")
	replicaReplayLag     = target.Desc("replica_replay_lag_bytes", "Bytes of WAL flushed on the primary but not yet replayed by the replica.", "replica")
	replicaReplayLagSecs = target.Desc("replica_replay_lag_seconds", "How long ago the primary was at the replica's replay position.", "replica")
	replicaHeadroom      = target.Desc("replica_wal_headroom_bytes", "Bytes the primary may still write before it removes WAL this replica needs.", "replica")
	replicaLossETA       = target.Desc("replica_wal_loss_eta_seconds", "Seconds until the primary removes WAL this replica needs, at the recent WAL rates.", "replica")
	replicaWALLost       = target.Desc("replica_wal_lost", "Whether the primary no longer has WAL this replica needs to catch up by streaming.", "replica")

	primaryUp          = target.Desc("primary_up", "Whether the last probe of the primary succeeded.")
	primaryPosition    = target.Desc("primary_wal_position_bytes", "The primary's WAL flush position as a byte offset.")
	primaryRetained    = target.Desc("primary_wal_retained_bytes", "Bytes of WAL the primary's pg_wal holds behind its flush position.")
	primaryKeep        = target.Desc("primary_wal_keep_bytes", "The primary's wal_keep_size in bytes.")
	primarySegmentSize = target.Desc("primary_wal_segment_size_bytes", "The primary's WAL segment size in bytes.")
	primaryWALRate     = target.Desc("primary_wal_rate_bytes_per_second", "Bytes of WAL the primary wrote per second over the rate window.")
	primarySenders     = target.Desc("primary_wal_senders", "WAL sender processes on the primary by state.", "state")
	slotSafeWALSize    = target.Desc("primary_slot_safe_wal_size_bytes", "Bytes that may still be written before this slot loses WAL.", "slot")
	slotActive         = target.Desc("primary_slot_active", "Whether a standby is connected to this replication slot.", "slot")
	slotLost           = target.Desc("primary_slot_lost", "Whether this replication slot's wal_status is lost.", "slot")
)

func describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		replicaUp, replicaStreaming, replicaReplayPaused, replicaLastMsgAge, replicaReceiveLag, replicaReplayLag,
		replicaReplayLagSecs, replicaHeadroom, replicaLossETA, replicaWALLost,
		primaryUp, primaryPosition, primaryRetained, primaryKeep, primarySegmentSize, primaryWALRate, primarySenders,
		slotSafeWALSize, slotActive, slotLost,
	} {
		ch <- d
	}
	target.DescribeHealth(ch)
}

// Probe label values.
const (
	probeReplica = "replica"
	probePrimary = "primary"
)
