package target

import "github.com/prometheus/client_golang/prometheus"

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
