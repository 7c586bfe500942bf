package replication

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

func collectPrimary(ch chan<- prometheus.Metric, s PrimaryStatus, hist *History, window time.Duration) {
	ch <- target.Gauge(serverVersion, float64(s.Version), probePrimary, "primary")
	ch <- target.Gauge(primaryPosition, float64(s.FlushLSN))
	ch <- target.Gauge(primaryKeep, float64(s.WALKeepBytes))
	ch <- target.Gauge(primarySegmentSize, float64(s.SegmentSize))
	ch <- prometheus.MustNewConstMetric(primaryCheckpoints, prometheus.CounterValue, s.Checkpoints)
	if s.HasOldest {
		ch <- target.Gauge(primaryRetained, float64(s.RetainedBytes()))
	}
	if rate, ok := hist.Rate(window); ok {
		ch <- target.Gauge(primaryWALRate, rate)
	}
	collectArchiver(ch, s)
	senders := map[string]float64{}
	for _, se := range s.Senders {
		senders[se.State]++
	}
	for state, n := range senders {
		ch <- target.Gauge(primarySenders, n, state)
	}
	for _, sl := range s.Slots {
		ch <- target.BoolGauge(slotActive, sl.Active, sl.Name)
		ch <- target.BoolGauge(slotLost, sl.WALStatus == "lost", sl.Name)
		safe := math.Inf(1)
		if sl.SafeWALSize != nil {
			safe = float64(*sl.SafeWALSize)
		}
		ch <- target.Gauge(slotSafeWALSize, safe, sl.Name)
		for _, st := range slotWALStatuses() {
			ch <- target.BoolGauge(slotWALStatus, sl.WALStatus == st, sl.Name, st)
		}
		if !sl.InactiveSince.IsZero() {
			ch <- target.Gauge(slotInactiveSince, unixSeconds(sl.InactiveSince), sl.Name)
		}
	}
}

func collectArchiver(ch chan<- prometheus.Metric, s PrimaryStatus) {
	a := s.Archiver
	ch <- target.BoolGauge(archiverEnabled, a.Enabled)
	if !a.Enabled {
		return
	}
	ch <- prometheus.MustNewConstMetric(archiverFailures, prometheus.CounterValue, a.Failures)
	if a.HasArchived {
		// Everything before the current segment can be archived; the open
		// segment cannot, so a healthy archiver lags by less than a segment.
		ch <- target.Gauge(archiveLag, float64(s.FlushLSN.Minus(a.LastArchivedEnd)))
	}
	if !a.LastArchived.IsZero() {
		ch <- target.Gauge(archiverLastArchived, unixSeconds(a.LastArchived))
	}
	if !a.LastFailed.IsZero() {
		ch <- target.Gauge(archiverLastFailed, unixSeconds(a.LastFailed))
	}
}

func collectReplica(ch chan<- prometheus.Metric, name string, v ReplicaView) {
	s := v.Status
	ch <- target.Gauge(serverVersion, float64(s.Version), probeReplica, name)
	ch <- target.BoolGauge(replicaReceiverRunning, s.ReceiverRunning, name)
	if streaming, known := s.Streaming(); known {
		ch <- target.BoolGauge(replicaStreaming, streaming, name)
	}
	ch <- target.BoolGauge(replicaReplayPaused, s.ReplayPaused, name)
	ch <- target.BoolGauge(replicaRestoreCommand, s.RestoreCommand, name)
	if s.HasLastMessageAge {
		ch <- target.Gauge(replicaLastMsgAge, s.LastMessageAge.Seconds(), name)
	}
	ch <- target.Gauge(replicaReplayLagSecs, v.ReplayLagSeconds, name)
	if v.HasPrimary {
		ch <- target.Gauge(replicaReceiveLag, float64(v.ReceiveLagBytes), name)
		ch <- target.Gauge(replicaReplayLag, float64(v.ReplayLagBytes), name)
	}
	if v.SyncState != "" {
		for _, st := range syncStates() {
			ch <- target.BoolGauge(replicaSyncState, v.SyncState == st, name, st)
		}
	}
	if v.SlotHoldsNothing || v.SlotStatus != "" { // a slot is configured
		ch <- target.BoolGauge(replicaSlotHoldsNothing, v.SlotHoldsNothing, name)
	}
	if v.HasHeadroom {
		ch <- target.Gauge(replicaHeadroom, v.HeadroomBytes, name)
		ch <- target.BoolGauge(replicaWALLost, v.WALLost, name)
		ch <- target.BoolGauge(replicaUnrecoverable, v.Unrecoverable, name)
	}
	if v.HasETA {
		ch <- target.Gauge(replicaLossETA, v.ETASeconds, name)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// slotWALStatuses are the values of pg_replication_slots.wal_status.
func slotWALStatuses() []string { return []string{"reserved", "extended", "unreserved", "lost"} }

// syncStates are the values of pg_stat_replication.sync_state.
func syncStates() []string { return []string{"async", "potential", "sync", "quorum"} }
