// Package target holds what every probed target of every domain shares: its
// health (last success, duration, failures by reason), the background loop
// that probes it, its row on the status page, and metric helpers.
package target

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
)

// Classifier maps an error to one of a domain's fixed failure reasons.
type Classifier struct {
	Reasons  []string
	ReasonOf func(error) string
}

// Health is what every target keeps about its own probing.
type Health struct {
	Probed      bool // at least one probe has finished
	Up          bool
	LastSuccess time.Time
	LastProbe   time.Time
	LastError   string // scrubbed
	Duration    time.Duration
	classifier  Classifier
	failures    map[string]float64
}

// NewHealth starts with every failure reason of c at zero.
func NewHealth(c Classifier) Health {
	h := Health{classifier: c, failures: make(map[string]float64, len(c.Reasons))}
	for _, r := range c.Reasons {
		h.failures[r] = 0
	}
	return h
}

// Record stores the outcome of a probe that started at start.
func (h *Health) Record(start time.Time, err error) {
	h.Probed = true
	h.LastProbe = start
	h.Duration = time.Since(start)
	if err != nil {
		h.Up = false
		h.LastError = config.Scrub(err.Error())
		h.failures[h.classifier.ReasonOf(err)]++
		return
	}
	h.Up = true
	h.LastSuccess = time.Now()
	h.LastError = ""
}

// Reason is the failure reason of err.
func (h *Health) Reason(err error) string { return h.classifier.ReasonOf(err) }

// Collect emits the probe's own metrics for one target.
func (h *Health) Collect(ch chan<- prometheus.Metric, probe, target string) {
	if !h.LastSuccess.IsZero() {
		ch <- Gauge(probeLastSuccess, Unix(h.LastSuccess), probe, target)
	}
	if h.Probed {
		ch <- Gauge(probeDuration, h.Duration.Seconds(), probe, target)
	}
	for _, r := range h.classifier.Reasons {
		ch <- prometheus.MustNewConstMetric(probeFailures, prometheus.CounterValue, h.failures[r], probe, target, r)
	}
}

// Row is the status-page row of this target.
func (h *Health) Row(probe, target string) Row {
	return Row{Probe: probe, Target: target, Up: h.Up, Probed: h.Probed, LastSuccess: h.LastSuccess,
		LastProbe: h.LastProbe, Duration: h.Duration, Error: h.LastError}
}

// Unix is t in Unix seconds, as Prometheus timestamps are exported.
func Unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
