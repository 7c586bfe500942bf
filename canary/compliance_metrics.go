package canary

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Gauges from the compliance rounds' snapshots, present once a check ran.
var (
	complianceLastResult = target.Desc("ocsp_compliance_last_result",
		"Result of the last answer to this compliance check at this origin: 1 on that result's series.", "origin", "check", "result")
	compliancePassed = target.Desc("ocsp_compliance_passed",
		"Whether this origin passed this compliance check in its last round.", "origin", "check")
	complianceDuration = target.Desc("ocsp_compliance_last_duration_seconds",
		"How long this origin took over the last request of this compliance check.", "origin", "check")
)

// complianceMetrics live as long as the exporter, like the canary's.
type complianceMetrics struct {
	checks *prometheus.CounterVec
}

func newComplianceMetrics() *complianceMetrics {
	return &complianceMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ocsp_compliance_checks_total",
			Help: "Compliance check requests by origin, check and the answer's result."}, []string{"origin", "check", "result"}),
	}
}

func (m *complianceMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.checks}
}

// initLabels creates each check's result="good" series at zero for every
// origin (for an unissued serial the alarming answer, for the others the
// passing one, so increase() sees the first); other results appear when
// first seen: all 18 for 8 checks were 144 series per origin, most of a
// scrape's cost at 128 origins (bench/README.md). An origin that opted out
// loses its series.
func (m *complianceMetrics) initLabels(enabled, disabled []string) {
	for _, o := range enabled {
		for _, c := range Checks() {
			m.checks.WithLabelValues(o, c.String(), ocsp.ResultGood.String())
		}
	}
	m.forget(disabled)
}

func (m *complianceMetrics) forget(origins []string) {
	for _, o := range origins {
		m.checks.DeletePartialMatch(prometheus.Labels{"origin": o})
	}
}

func describeCompliance(ch chan<- *prometheus.Desc) {
	ch <- complianceLastResult
	ch <- compliancePassed
	ch <- complianceDuration
}
