package target

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Namespace prefixes every metric of the exporter.
const Namespace = "certstatus"

// Desc declares a metric of the exporter.
func Desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

// Probe health, shared by every domain's targets.
var (
	probeLastSuccess = Desc("probe_last_success_timestamp_seconds", "Unix time of the last successful probe of this target.", "probe", "target")
	probeDuration    = Desc("probe_duration_seconds", "How long the last probe of this target took.", "probe", "target")
	probeFailures    = Desc("probe_failures_total", "Failed probes of this target by reason.", "probe", "target", "reason")
)

// DescribeHealth sends the descriptions of the metrics Health emits.
func DescribeHealth(ch chan<- *prometheus.Desc) {
	ch <- probeLastSuccess
	ch <- probeDuration
	ch <- probeFailures
}

// Gauge is a constant gauge sample.
func Gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// BoolGauge is 1 for true, 0 for false.
func BoolGauge(d *prometheus.Desc, b bool, labels ...string) prometheus.Metric {
	v := 0.0
	if b {
		v = 1
	}
	return Gauge(d, v, labels...)
}

// Series is one series of a metric with its label pairs built once (when a
// configuration is built), so a scrape allocates no label set and checks no
// label value again.
type Series struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
}

// NewSeries builds the series of d with these label values; it panics on a
// label count that does not match d, as MustNewConstMetric does.
func NewSeries(d *prometheus.Desc, labelValues ...string) Series {
	var pb dto.Metric
	if err := prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 0, labelValues...).Write(&pb); err != nil {
		panic(err)
	}
	// Full slice: a wrapper that appends labels must copy, not write into ours.
	return Series{desc: d, labels: pb.Label[:len(pb.Label):len(pb.Label)]}
}

// Gauge is a gauge sample of s.
func (s Series) Gauge(v float64) prometheus.Metric {
	return &sample{desc: s.desc, labels: s.labels, v: v}
}

// Bool is 1 for true, 0 for false.
func (s Series) Bool(b bool) prometheus.Metric {
	v := 0.0
	if b {
		v = 1
	}
	return s.Gauge(v)
}

// sample is a constant gauge sharing its series' label pairs (read only).
type sample struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	v      float64
}

func (m *sample) Desc() *prometheus.Desc { return m.desc }

func (m *sample) Write(out *dto.Metric) error {
	out.Label = m.labels
	out.Gauge = &dto.Gauge{Value: &m.v}
	return nil
}
