package canary

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Gauges computed from the canary's snapshots.
var (
	ocspCertificates = target.Desc("ocsp_certificates", "Tracked certificates by their state at this origin: pending, authoritative or overdue.", "origin", "state")
	ocspOriginUp     = target.Desc("ocsp_origin_up", "Whether the origin's last answer was an OCSP response of any status.", "origin")
	ocspOldestThis   = target.Desc("ocsp_oldest_this_update_timestamp_seconds", "Oldest thisUpdate among this origin's latest authoritative answers.", "origin")
	ocspNewestThis   = target.Desc("ocsp_newest_this_update_timestamp_seconds", "Newest thisUpdate among this origin's latest authoritative answers.", "origin")
	ocspEarliestNext = target.Desc("ocsp_earliest_next_update_timestamp_seconds", "Earliest nextUpdate among this origin's latest authoritative answers.", "origin")
	ocspLatestNext   = target.Desc("ocsp_latest_next_update_timestamp_seconds", "Latest nextUpdate among this origin's latest authoritative answers.", "origin")
	ocspCDNDisagree  = target.Desc("ocsp_cdn_disagreements", "Certificates the CDN answers worse than an origin does (kind status) or with an older thisUpdate (kind this_update).", "origin", "kind")
	ocspUnpersisted  = target.Desc("ocsp_unpersisted_changes", "Tracked-certificate changes not yet written to the store.")
	ocspTracked      = target.Desc("ocsp_tracked_certificates", "Certificates the canary tracks.")
	ocspBacklog      = target.Desc("ocsp_recheck_backlog_seconds", "How late the most overdue recheck at this origin was when its recheck budget ran out in the last pass (0: none waited).", "origin")
	sourceUp         = target.Desc("certificate_source_up", "Whether the last read of this certificate source succeeded.", "source")
)

// Histogram buckets, fitted to OCSP: each bucket is a series per origin.

// requestDurationBuckets: an origin answers in milliseconds (from cache) to
// a few hundred (signing, a CDN miss). No 5 s bucket: that is the default
// request timeout, so it held every observation; 10 s is the BR limit, for
// an origin whose timeout is raised towards it.
func requestDurationBuckets() []float64 {
	return []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}
}

// timeToAuthBuckets: the first answer is seen on a pass (default every
// 15 s), so nothing finer than that; 900 s is the default SLA. Past an hour
// every certificate is long overdue (ocsp_certificates counts it); 24 h is
// the default track_for.
func timeToAuthBuckets() []float64 {
	return []float64{15, 30, 60, 120, 300, 600, 900, 1800, 3600, 24 * 3600}
}

// metrics are the canary's counters and histograms. They live as long
// as the exporter, across reloads, so counters never go back.
type metrics struct {
	responses       *prometheus.CounterVec
	cacheableErrors *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	timeToAuth      *prometheus.HistogramVec
	discovered      *prometheus.CounterVec
	sourceErrors    *prometheus.CounterVec
	evicted         prometheus.Counter
	// evictedUnresolved: dropped while some origin was not authoritative.
	evictedUnresolved prometheus.Counter
	ct                *ctMetrics
	compliance        *complianceMetrics

	// series are each configured origin's gauge series, labels built once
	// by initLabels, so a scrape allocates no label set.
	seriesMu sync.RWMutex
	series   map[string]*originSeries
}

// originSeries are one origin's gauge series.
type originSeries struct {
	certs                    [3]target.Series // by certStates
	up                       target.Series
	oldestThis, newestThis   target.Series
	earliestNext, latestNext target.Series
	cdnStatus, cdnOlderThis  target.Series
	backlog                  target.Series
}

func newOriginSeries(o string) *originSeries {
	s := &originSeries{up: target.NewSeries(ocspOriginUp, o),
		oldestThis: target.NewSeries(ocspOldestThis, o), newestThis: target.NewSeries(ocspNewestThis, o),
		earliestNext: target.NewSeries(ocspEarliestNext, o), latestNext: target.NewSeries(ocspLatestNext, o),
		cdnStatus: target.NewSeries(ocspCDNDisagree, o, "status"), cdnOlderThis: target.NewSeries(ocspCDNDisagree, o, "this_update"),
		backlog: target.NewSeries(ocspBacklog, o)}
	for i, st := range certStates() {
		s.certs[i] = target.NewSeries(ocspCertificates, o, st)
	}
	return s
}

// originSeries is origin o's series; nil if o is not configured.
func (m *metrics) originSeries(o string) *originSeries {
	m.seriesMu.RLock()
	defer m.seriesMu.RUnlock()
	return m.series[o]
}

func newMetrics() *metrics {
	return &metrics{
		ct:         newCTMetrics(),
		compliance: newComplianceMetrics(),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ocsp_responses_total",
			Help: "OCSP checks by origin and result."}, []string{"origin", "result"}),
		cacheableErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ocsp_cacheable_error_responses_total",
			Help: "Non-authoritative answers whose cache headers let a CDN keep them."}, []string{"origin", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: target.Namespace, Name: "ocsp_request_duration_seconds",
			Help:    "Duration of OCSP requests to this origin.",
			Buckets: requestDurationBuckets()}, []string{"origin"}),
		timeToAuth: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: target.Namespace, Name: "ocsp_time_to_authoritative_seconds",
			Help:    "Time from issuance to the first good or revoked answer at this origin.",
			Buckets: timeToAuthBuckets()}, []string{"origin"}),
		discovered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "certificates_discovered_total",
			Help: "Certificates this source found for the first time, by kind."}, []string{"source", "kind"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "certificate_source_errors_total",
			Help: "Certificates or reads this source could not use, by reason."}, []string{"source", "reason"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ocsp_evicted_certificates_total",
			Help: "Tracked certificates dropped, oldest first, because max_tracked was reached."}),
		evictedUnresolved: prometheus.NewCounter(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ocsp_evicted_unresolved_certificates_total",
			Help: "Certificates dropped for max_tracked while some origin was not yet authoritative for them."}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	cols := append([]prometheus.Collector{m.responses, m.cacheableErrors, m.duration, m.timeToAuth, m.discovered,
		m.sourceErrors, m.evicted, m.evictedUnresolved}, m.ct.collectors()...)
	return append(cols, m.compliance.collectors()...)
}

// initLabels creates every series of the configured targets at zero, so
// rates and absent() work from the start.
func (m *metrics) initLabels(origins, sources []string) {
	m.seriesMu.Lock()
	if m.series == nil {
		m.series = map[string]*originSeries{}
	}
	for _, o := range origins {
		if m.series[o] == nil {
			m.series[o] = newOriginSeries(o)
		}
	}
	m.seriesMu.Unlock()
	for _, o := range origins {
		for _, r := range ocsp.Results() {
			m.responses.WithLabelValues(o, r.String())
			// Every non-authoritative result, so increase() sees the first
			// cacheable error answer (seed 004's CDN case).
			if !r.Authoritative() && r != ocsp.ResultTransportError && r != ocsp.ResultTimeout {
				m.cacheableErrors.WithLabelValues(o, r.String())
			}
		}
		m.duration.WithLabelValues(o)
		m.timeToAuth.WithLabelValues(o)
	}
	for _, s := range sources {
		for _, k := range CertKinds() {
			m.discovered.WithLabelValues(s, k)
		}
		for _, r := range SourceErrorReasons() {
			m.sourceErrors.WithLabelValues(s, r)
		}
	}
}

// forget drops the series of origins and sources no longer configured.
func (m *metrics) forget(origins, sources []string) {
	m.compliance.forget(origins)
	m.seriesMu.Lock()
	for _, o := range origins {
		delete(m.series, o)
	}
	m.seriesMu.Unlock()
	for _, o := range origins {
		l := prometheus.Labels{"origin": o}
		m.responses.DeletePartialMatch(l)
		m.cacheableErrors.DeletePartialMatch(l)
		m.duration.DeletePartialMatch(l)
		m.timeToAuth.DeletePartialMatch(l)
	}
	for _, s := range sources {
		l := prometheus.Labels{"source": s}
		m.discovered.DeletePartialMatch(l)
		m.sourceErrors.DeletePartialMatch(l)
		m.ct.forget(s)
	}
}

// certStates are the state label's values, in OriginStats' order.
func certStates() []string { return []string{"pending", "authoritative", "overdue"} }

func describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ocspCertificates, ocspOriginUp, ocspOldestThis, ocspNewestThis,
		ocspEarliestNext, ocspLatestNext, ocspCDNDisagree, ocspTracked, ocspBacklog, ocspUnpersisted, sourceUp, inventoryMissing, ctUnlogged} {
		ch <- d
	}
	target.DescribeHealth(ch)
	describeCT(ch)
	describeCompliance(ch)
}
