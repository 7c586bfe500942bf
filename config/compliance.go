package config

import "time"

// DefaultComplianceInterval is how often each origin gets the compliance
// probes: they test behaviour that changes with deployments, not by the
// minute, and each round costs the origin a handful of requests.
const DefaultComplianceInterval = 5 * time.Minute

// ComplianceAnswerLimit is BR 4.10.2's bound on an OCSP answer's time; a
// compliance round must be able to wait that long for one answer.
const ComplianceAnswerLimit = 10 * time.Second

// ComplianceEnabled reports whether the compliance probes run against this
// origin: on unless `compliance: false`.
func (o Origin) ComplianceEnabled() bool { return o.Compliance == nil || *o.Compliance }

func (o *OCSP) applyComplianceDefaults() {
	setDefault(&o.ComplianceInterval, DefaultComplianceInterval)
}

func (v *validator) compliance(o *OCSP) {
	if o.ComplianceInterval.D() < ComplianceAnswerLimit {
		v.add("ocsp.compliance_interval", "compliance_interval %s must be at least %s (BR 4.10.2's answer time)",
			o.ComplianceInterval.D(), ComplianceAnswerLimit)
	}
}
