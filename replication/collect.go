package replication

import (
	"math"
	"slices"
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
	// Counted without a map: a primary has a few senders.
	for i, se := range s.Senders {
		if slices.ContainsFunc(s.Senders[:i], func(o Sender) bool { return o.State == se.State }) {
			continue // counted with the first of its state
		}
		n := 0
		for _, o := range s.Senders[i:] {
			if o.State == se.State {
				n++
			}
		}
		ch <- target.Gauge(primarySenders, float64(n), se.State)
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

// replicaSeries are one replica's series, labels built once per
// configuration, so a scrape allocates no label set.
type replicaSeries struct {
	up, version, receiverRunning, streaming, replayPaused, restoreCommand target.Series
	lastMsgAge, replayLagSecs, receiveLag, replayLag                      target.Series
	syncState                                                             [syncStates]target.Series
	slotHoldsNothing, headroom, walLost, unrecoverable, lossETA           target.Series
}

func newReplicaSeries(name string) *replicaSeries {
	s := &replicaSeries{
		up: target.NewSeries(replicaUp, name), version: target.NewSeries(serverVersion, probeReplica, name),
		receiverRunning: target.NewSeries(replicaReceiverRunning, name), streaming: target.NewSeries(replicaStreaming, name),
		replayPaused: target.NewSeries(replicaReplayPaused, name), restoreCommand: target.NewSeries(replicaRestoreCommand, name),
		lastMsgAge: target.NewSeries(replicaLastMsgAge, name), replayLagSecs: target.NewSeries(replicaReplayLagSecs, name),
		receiveLag: target.NewSeries(replicaReceiveLag, name), replayLag: target.NewSeries(replicaReplayLag, name),
		slotHoldsNothing: target.NewSeries(replicaSlotHoldsNothing, name), headroom: target.NewSeries(replicaHeadroom, name),
		walLost: target.NewSeries(replicaWALLost, name), unrecoverable: target.NewSeries(replicaUnrecoverable, name),
		lossETA: target.NewSeries(replicaLossETA, name),
	}
	for i, st := range syncStateValues() {
		s.syncState[i] = target.NewSeries(replicaSyncState, name, st)
	}
	return s
}

func collectReplica(ch chan<- prometheus.Metric, se *replicaSeries, v ReplicaView) {
	s := v.Status
	ch <- se.version.Gauge(float64(s.Version))
	ch <- se.receiverRunning.Bool(s.ReceiverRunning)
	if streaming, known := s.Streaming(); known {
		ch <- se.streaming.Bool(streaming)
	}
	ch <- se.replayPaused.Bool(s.ReplayPaused)
	ch <- se.restoreCommand.Bool(s.RestoreCommand)
	if s.HasLastMessageAge {
		ch <- se.lastMsgAge.Gauge(s.LastMessageAge.Seconds())
	}
	ch <- se.replayLagSecs.Gauge(v.ReplayLagSeconds)
	if v.HasPrimary {
		ch <- se.receiveLag.Gauge(float64(v.ReceiveLagBytes))
		ch <- se.replayLag.Gauge(float64(v.ReplayLagBytes))
	}
	if v.SyncState != "" {
		for i, st := range syncStateValues() {
			ch <- se.syncState[i].Bool(v.SyncState == st)
		}
	}
	if v.SlotHoldsNothing || v.SlotStatus != "" { // a slot is configured
		ch <- se.slotHoldsNothing.Bool(v.SlotHoldsNothing)
	}
	if v.HasHeadroom {
		ch <- se.headroom.Gauge(v.HeadroomBytes)
		ch <- se.walLost.Bool(v.WALLost)
		ch <- se.unrecoverable.Bool(v.Unrecoverable)
	}
	if v.HasETA {
		ch <- se.lossETA.Gauge(v.ETASeconds)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// slotWALStatuses are the values of pg_replication_slots.wal_status.
func slotWALStatuses() [4]string { return [...]string{"reserved", "extended", "unreserved", "lost"} }

// syncStateValues are the values of pg_stat_replication.sync_state (an
// array: no allocation when a scrape ranges over it).
func syncStateValues() [syncStates]string { return [...]string{"async", "potential", "sync", "quorum"} }

const syncStates = 4
