package target

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A Series sample writes what a constant gauge writes, and scrapes share
// its label pairs instead of building them again.
func TestSeriesWritesAsConstMetric(t *testing.T) {
	d := Desc("test_gauge", "A test gauge.", "origin", "state")
	s := NewSeries(d, "origin-1", "pending")
	for _, v := range []float64{0, 3.5} {
		var got, want dto.Metric
		if err := s.Gauge(v).Write(&got); err != nil {
			t.Fatal(err)
		}
		if err := prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, "origin-1", "pending").Write(&want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("Series wrote %v, const metric %v", &got, &want)
		}
	}
	var a, b dto.Metric
	_ = s.Bool(true).Write(&a)
	_ = s.Bool(false).Write(&b)
	if &a.Label[0] != &b.Label[0] || a.GetGauge().GetValue() != 1 || b.GetGauge().GetValue() != 0 {
		t.Error("two samples of a series do not share its label pairs, or Bool is wrong")
	}
	if cap(a.Label) != len(a.Label) {
		t.Error("an append to the shared label pairs would write into them")
	}
	defer func() {
		if recover() == nil {
			t.Error("a wrong label count did not panic")
		}
	}()
	NewSeries(d, "origin-1")
}
