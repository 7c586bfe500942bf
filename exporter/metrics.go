// Package exporter ties the probes to Prometheus: background loops per
// target, the snapshot they leave, the collector that serves it, and the
// HTTP endpoints.
package exporter

import "github.com/prometheus/client_golang/prometheus"

const namespace = "certstatus"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

// Every metric description, declared once. The README's metric reference is
// checked against this list by a test.
var (
	replicaUp            = desc("replica_up", "Whether the last probe of this replica succeeded.", "replica")
	replicaStreaming     = desc("replica_wal_receiver_streaming", "Whether the replica's WAL receiver is streaming.", "replica")
	replicaReplayPaused  = desc("replica_replay_paused", "Whether WAL replay is paused on the replica.", "replica")
	replicaLastMsgAge    = desc("replica_last_message_age_seconds", "Seconds since the replica's WAL receiver last heard from the primary.", "replica")
	replicaReceiveLag    = desc("replica_receive_lag_bytes", "Bytes of WAL flushed on the primary but not yet received by the replica.", "replica")
	replicaReplayLag     = desc("replica_replay_lag_bytes", "Bytes of WAL flushed on the primary but not yet replayed by the replica.", "replica")
	replicaReplayLagSecs = desc("replica_replay_lag_seconds", "How long ago the primary was at the replica's replay position.", "replica")
	replicaHeadroom      = desc("replica_wal_headroom_bytes", "Bytes the primary may still write before it removes WAL this replica needs.", "replica")
	replicaLossETA       = desc("replica_wal_loss_eta_seconds", "Seconds until the primary removes WAL this replica needs, at the recent WAL rates.", "replica")
	replicaWALLost       = desc("replica_wal_lost", "Whether the primary no longer has WAL this replica needs to catch up by streaming.", "replica")

	primaryUp          = desc("primary_up", "Whether the last probe of the primary succeeded.")
	primaryPosition    = desc("primary_wal_position_bytes", "The primary's WAL flush position as a byte offset.")
	primaryRetained    = desc("primary_wal_retained_bytes", "Bytes of WAL the primary's pg_wal holds behind its flush position.")
	primaryKeep        = desc("primary_wal_keep_bytes", "The primary's wal_keep_size in bytes.")
	primarySegmentSize = desc("primary_wal_segment_size_bytes", "The primary's WAL segment size in bytes.")
	primaryWALRate     = desc("primary_wal_rate_bytes_per_second", "Bytes of WAL the primary wrote per second over the rate window.")
	primarySenders     = desc("primary_wal_senders", "WAL sender processes on the primary by state.", "state")
	slotSafeWALSize    = desc("primary_slot_safe_wal_size_bytes", "Bytes that may still be written before this slot loses WAL.", "slot")
	slotActive         = desc("primary_slot_active", "Whether a standby is connected to this replication slot.", "slot")
	slotLost           = desc("primary_slot_lost", "Whether this replication slot's wal_status is lost.", "slot")

	probeLastSuccess = desc("probe_last_success_timestamp_seconds", "Unix time of the last successful probe of this target.", "probe", "target")
	probeDuration    = desc("probe_duration_seconds", "How long the last probe of this target took.", "probe", "target")
	probeFailures    = desc("probe_failures_total", "Failed probes of this target by reason.", "probe", "target", "reason")

	configReloadOK   = desc("config_last_reload_successful", "Whether the last configuration load succeeded.")
	configReloadTime = desc("config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load.")
)

// Probe label values.
const (
	probeReplica = "replica"
	probePrimary = "primary"
	probeSource  = "source"
	probeOCSP    = "ocsp"
)
