// Package integration runs certstatus_exporter against the real lab:
// PostgreSQL primary and streaming replicas, cfssl OCSP origins.
package integration

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// labConfig writes a config for the lab with the given extra YAML and loads it.
func labConfig(t *testing.T, lab *labtest.Lab, extra string) *config.Config {
	t.Helper()
	yml := labConfigYAML(lab) + extra
	path := filepath.Join(t.TempDir(), "certstatus.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("lab config: %v", err)
	}
	return cfg
}

// startExporter runs an exporter in-process with a fresh registry.
func startExporter(t *testing.T, cfg *config.Config) *prometheus.Registry {
	t.Helper()
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(cfg)
	t.Cleanup(exp.Stop)
	return exporter.NewRegistry(exp)
}

// value reads one sample; ok is false when the series is absent.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	v, ok := metrictest.Sample(mfs, name, labels...)
	if !ok {
		return math.NaN(), false
	}
	return v, true
}

// must reads a sample that has to be present.
func must(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := value(t, reg, name, labels...)
	if !ok {
		t.Fatalf("%s%v is absent", name, labels)
	}
	return v
}

// eventually retries cond every 200ms until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
