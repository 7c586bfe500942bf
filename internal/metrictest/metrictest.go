// Package metrictest reads single samples out of gathered metric families,
// for tests that assert on what the exporter exposes.
package metrictest

import dto "github.com/prometheus/client_model/go"

// Sample finds the first series of name whose labels include the given
// name/value pairs; ok is false when there is none.
func Sample(mfs []*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

// Find is the first series of name with the given labels, or nil.
func Find(mfs []*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				return m
			}
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if labelValue(m, labels[i]) != labels[i+1] {
			return false
		}
	}
	return true
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
