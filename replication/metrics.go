package replication

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Every replication metric description, declared once. The README's metric
// reference is checked against these by a test.
var (
	replicaUp               = target.Desc("replica_up", "Whether the last probe of this replica succeeded.", "replica")
	replicaStreaming        = target.Desc("replica_wal_receiver_streaming", "Whether the replica's WAL receiver is streaming.", "replica")
	replicaReplayPaused     = target.Desc("replica_replay_paused", "Whether WAL replay is paused on the replica.", "replica")
	replicaLastMsgAge       = target.Desc("replica_last_message_age_seconds", "Seconds since the replica's WAL receiver last heard from the primary.", "replica")
	replicaReceiveLag       = target.Desc("replica_receive_lag_bytes", "Bytes of WAL flushed on the primary but not yet received by the replica.", "replica")
	replicaReplayLag        = target.Desc("replica_replay_lag_bytes", "Bytes of WAL flushed on the primary but not yet replayed by the replica.", "replica")
	replicaReplayLagSecs    = target.Desc("replica_replay_lag_seconds", "How long ago the primary was at the replica's replay position.", "replica")
	replicaHeadroom         = target.Desc("replica_wal_headroom_bytes", "Bytes the primary may still write before it removes WAL this replica needs.", "replica")
	replicaLossETA          = target.Desc("replica_wal_loss_eta_seconds", "Seconds until the primary removes WAL this replica needs, at the recent WAL rates.", "replica")
	replicaWALLost          = target.Desc("replica_wal_lost", "Whether the primary no longer has WAL this replica needs to catch up by streaming.", "replica")
	replicaSlotHoldsNothing = target.Desc("replica_slot_holds_nothing", "Whether the replica's configured slot is missing on its upstream or has never reserved WAL.", "replica")
	replicaUnrecoverable    = target.Desc("replica_wal_unrecoverable", "Whether WAL this replica needs is gone from the primary and from any archive it restores from.", "replica")
	replicaRestoreCommand   = target.Desc("replica_restore_command_configured", "Whether the replica has a restore_command to fetch WAL from an archive.", "replica")
	replicaReceiverRunning  = target.Desc("replica_wal_receiver_running", "Whether a WAL receiver process runs on the replica.", "replica")
	replicaSyncState        = target.Desc("replica_sync_state", "The primary's sync_state for this standby: 1 for the current one.", "replica", "state")
	serverVersion           = target.Desc("server_version_num", "The PostgreSQL server version as server_version_num.", "probe", "target")

	primaryUp            = target.Desc("primary_up", "Whether the last probe of the primary succeeded.")
	primaryPosition      = target.Desc("primary_wal_position_bytes", "The primary's WAL flush position as a byte offset.")
	primaryRetained      = target.Desc("primary_wal_retained_bytes", "Bytes of WAL the primary's pg_wal holds behind its flush position.")
	primaryKeep          = target.Desc("primary_wal_keep_bytes", "The primary's wal_keep_size in bytes.")
	primarySegmentSize   = target.Desc("primary_wal_segment_size_bytes", "The primary's WAL segment size in bytes.")
	primaryWALRate       = target.Desc("primary_wal_rate_bytes_per_second", "Bytes of WAL the primary wrote per second over the rate window.")
	primarySenders       = target.Desc("primary_wal_senders", "WAL sender processes on the primary by state.", "state")
	slotSafeWALSize      = target.Desc("primary_slot_safe_wal_size_bytes", "Bytes that may still be written before this slot loses WAL.", "slot")
	slotActive           = target.Desc("primary_slot_active", "Whether a standby is connected to this replication slot.", "slot")
	slotLost             = target.Desc("primary_slot_lost", "Whether this replication slot's wal_status is lost.", "slot")
	slotWALStatus        = target.Desc("primary_slot_wal_status", "This replication slot's wal_status: 1 for the current one.", "slot", "status")
	slotInactiveSince    = target.Desc("primary_slot_inactive_since_timestamp_seconds", "Unix time since which no standby uses this slot (PostgreSQL 17 and later).", "slot")
	primaryCheckpoints   = target.Desc("primary_checkpoints_total", "Checkpoints the primary has performed since its statistics were reset.")
	archiverEnabled      = target.Desc("primary_archiver_enabled", "Whether the primary's archive_mode is on.")
	archiveLag           = target.Desc("primary_archive_lag_bytes", "Bytes of WAL written on the primary after the end of the last archived segment.")
	archiverFailures     = target.Desc("primary_archiver_failures_total", "Failed attempts of the primary's archive_command since its statistics were reset.")
	archiverLastArchived = target.Desc("primary_archiver_last_archived_timestamp_seconds", "Unix time of the primary's last successfully archived WAL file.")
	archiverLastFailed   = target.Desc("primary_archiver_last_failure_timestamp_seconds", "Unix time of the primary's last failed archive_command.")
)

func describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		replicaUp, replicaStreaming, replicaReplayPaused, replicaLastMsgAge, replicaReceiveLag, replicaReplayLag,
		replicaReplayLagSecs, replicaHeadroom, replicaLossETA, replicaWALLost, replicaUnrecoverable, replicaSlotHoldsNothing,
		replicaRestoreCommand, replicaReceiverRunning, replicaSyncState, serverVersion,
		primaryUp, primaryPosition, primaryRetained, primaryKeep, primarySegmentSize, primaryWALRate, primarySenders,
		slotSafeWALSize, slotActive, slotLost, slotWALStatus, slotInactiveSince, primaryCheckpoints,
		archiverEnabled, archiveLag, archiverFailures, archiverLastArchived, archiverLastFailed,
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
