package crl

import (
	"math/big"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

const namespace = target.Namespace

// Gauges computed from the canary's snapshot.
var (
	upDesc         = target.Desc("crl_up", "Whether the last fetch of this shard at this origin passed every check.", "shard", "origin")
	thisUpdateDesc = target.Desc("crl_this_update_timestamp_seconds", "thisUpdate of the last usable CRL of this shard at this origin.", "shard", "origin")
	nextUpdateDesc = target.Desc("crl_next_update_timestamp_seconds", "nextUpdate of the last usable CRL of this shard at this origin.", "shard", "origin")
	numberDesc     = target.Desc("crl_number", "CRLNumber of the last usable CRL of this shard at this origin; absent when it carries none.", "shard", "origin")
	entriesDesc    = target.Desc("crl_entries", "Revoked certificates listed on the last usable CRL of this shard at this origin.", "shard", "origin")
	sizeDesc       = target.Desc("crl_size_bytes", "Size of the last usable CRL of this shard at this origin.", "shard", "origin")
	durationDesc   = target.Desc("crl_fetch_duration_seconds", "Duration of the last fetch of this shard at this origin.", "shard", "origin")
	revsDesc       = target.Desc("crl_revocations", "Revocations in the CA's record by their state at this origin: pending, listed, overdue or mismatched.", "origin", "state")
	dupDesc        = target.Desc("crl_duplicate_serials", "Serials listed on more than one shard at this origin.", "origin")
	cdnLagDesc     = target.Desc("crl_cdn_lag_seconds", "How far the CDN's thisUpdate of this shard is behind the freshest origin's.", "shard", "origin")
	cdnDiffDesc    = target.Desc("crl_cdn_disagreement", "Whether the CDN's copy of this shard differs from the freshest origin's in this field: number, this_update or hash.", "shard", "origin", "field")
	ocspRevsDesc   = target.Desc("crl_ocsp_revocations", "Revocations in the CA's record by what this OCSP origin answers: revoked, pending (not yet, within the deadline) or overdue.", "origin", "state")
	shardsDesc     = target.Desc("crl_shards", "CRL shards checked: those configured and those of the shard list.")
	sourceUpDesc   = target.Desc("crl_revocation_source_up", "Whether the last read of the CA's revocation record succeeded.")
)

// Metrics are the canary's counters. They live as long as the process,
// across reloads, so counters never go back.
type Metrics struct {
	checks        *prometheus.CounterVec
	earlyRemovals *prometheus.CounterVec
}

// NewMetrics returns the counters, empty.
func NewMetrics() *Metrics {
	return &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "crl_checks_total",
			Help: "CRL fetch-and-checks of this shard at this origin, by result."}, []string{"shard", "origin", "result"}),
		earlyRemovals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "crl_early_removals_total",
			Help: "Serials that left a CRL at this origin while the CA's record still holds them revoked and unexpired."}, []string{"origin"}),
	}
}

// initLabels creates a target's series at zero, so rates work from the start.
func (m *Metrics) initLabels(shard, origin string) {
	for _, r := range Results() {
		m.checks.WithLabelValues(shard, origin, r.String())
	}
	m.earlyRemovals.WithLabelValues(origin)
}

// Forget drops the counters of targets no longer configured.
func (m *Metrics) Forget(shard, origin string) {
	m.checks.DeletePartialMatch(prometheus.Labels{"shard": shard, "origin": origin})
}

// Describe sends every descriptor the canary may emit.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, thisUpdateDesc, nextUpdateDesc, numberDesc, entriesDesc, sizeDesc,
		durationDesc, revsDesc, dupDesc, cdnLagDesc, cdnDiffDesc, sourceUpDesc, ocspRevsDesc, shardsDesc} {
		ch <- d
	}
	m.checks.Describe(ch)
	m.earlyRemovals.Describe(ch)
	target.DescribeHealth(ch)
}

// CollectCounters sends the long-lived counters.
func (m *Metrics) CollectCounters(ch chan<- prometheus.Metric) {
	m.checks.Collect(ch)
	m.earlyRemovals.Collect(ch)
}

// Collect sends the gauges of the latest snapshot and the counters; it never
// waits on I/O.
func (c *Canary) Collect(ch chan<- prometheus.Metric) {
	c.metrics.CollectCounters(ch)
	c.mu.RLock()
	snap := c.snap
	c.mu.RUnlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, t := range snap.targets {
		gauge(upDesc, boolFloat(t.result == ResultOK), t.shard, t.origin)
		if !t.checkedAt.IsZero() {
			gauge(durationDesc, t.duration.Seconds(), t.shard, t.origin)
		}
		v := t.view
		if v == nil {
			continue
		}
		gauge(thisUpdateDesc, target.Unix(v.ThisUpdate), t.shard, t.origin)
		gauge(nextUpdateDesc, target.Unix(v.NextUpdate), t.shard, t.origin)
		if v.Number != nil {
			n, _ := new(big.Float).SetInt(v.Number).Float64()
			gauge(numberDesc, n, t.shard, t.origin)
		}
		gauge(entriesDesc, float64(len(v.Entries)), t.shard, t.origin)
		gauge(sizeDesc, float64(v.Size), t.shard, t.origin)
	}
	for _, o := range snap.origins {
		gauge(dupDesc, float64(o.duplicates), o.origin)
		if !snap.hasSrc {
			continue
		}
		for _, st := range States() {
			gauge(revsDesc, float64(o.states[st]), o.origin, st.String())
		}
	}
	for _, d := range snap.cdn {
		if !d.haveBoth {
			continue
		}
		gauge(cdnLagDesc, d.lag.Seconds(), d.shard, d.cdn)
		gauge(cdnDiffDesc, boolFloat(d.number), d.shard, d.cdn, "number")
		gauge(cdnDiffDesc, boolFloat(d.thisUpdate), d.shard, d.cdn, "this_update")
		gauge(cdnDiffDesc, boolFloat(d.hash), d.shard, d.cdn, "hash")
	}
	if snap.shards > 0 {
		gauge(shardsDesc, float64(snap.shards))
	}
	if snap.listByURL && snap.list.Probed {
		snap.list.Collect(ch, probeShardList, "shard_list")
	}
	for _, o := range snap.ocsp {
		for st, n := range o.states {
			gauge(ocspRevsDesc, float64(n), o.origin, ocspStateName(st))
		}
	}
	if snap.hasSrc && snap.src.Probed {
		gauge(sourceUpDesc, boolFloat(snap.src.Up))
		snap.src.Collect(ch, probeSource, "revocations")
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
