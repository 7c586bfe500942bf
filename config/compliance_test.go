package config

import (
	"strings"
	"testing"
)

func complianceYAML(extra, originExtra string) []byte {
	return []byte(`ocsp:
  issuers: ["ca.pem"]
` + extra + `
  sources: [{name: spool, type: dir, path: spool}]
  origins:
    - {name: origin-1, url: "http://127.0.0.1:8080/"` + originExtra + `}
    - {name: cdn, url: "http://127.0.0.1:8081/", cdn: true}
`)
}

func TestComplianceDefaultsAndOptOut(t *testing.T) {
	cfg, err := parse("testdata/compliance.yml", complianceYAML("", ", compliance: false"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OCSP.ComplianceInterval.D() != DefaultComplianceInterval {
		t.Errorf("compliance_interval = %s, want the default %s", cfg.OCSP.ComplianceInterval.D(), DefaultComplianceInterval)
	}
	if cfg.OCSP.Origins[0].ComplianceEnabled() || !cfg.OCSP.Origins[1].ComplianceEnabled() {
		t.Errorf("compliance enabled: origin-1 %v (set false), cdn %v (unset)",
			cfg.OCSP.Origins[0].ComplianceEnabled(), cfg.OCSP.Origins[1].ComplianceEnabled())
	}
}

func TestComplianceIntervalTooShort(t *testing.T) {
	_, err := parse("testdata/compliance.yml", complianceYAML("  compliance_interval: 5s", ""), noEnv)
	want := "testdata/compliance.yml:3: ocsp.compliance_interval: compliance_interval 5s must be at least 10s"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestComplianceNotABool(t *testing.T) {
	_, err := parse("testdata/compliance.yml", complianceYAML("", ", compliance: sometimes"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "ocsp.origins[0]") {
		t.Errorf("error %v, want one naming ocsp.origins[0]", err)
	}
}
