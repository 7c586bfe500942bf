// Package canary tracks every just-issued certificate and precertificate
// that its sources find, asks every origin (and the CDN) about each until
// the answer is authoritative, and counts those still not after the SLA.
package canary

import (
	"fmt"
	"log/slog"
	"reflect"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/store"
)

// Domain is the OCSP canary domain of the exporter. Its counters live as long
// as the process, so they never go back on a reload.
type Domain struct {
	logger *slog.Logger
	m      *metrics
	store  *store.Store // nil: nothing persisted
}

// NewDomain returns the canary domain; st persists what it tracks (nil
// for none).
func NewDomain(logger *slog.Logger, st *store.Store) *Domain {
	return &Domain{logger: logger, m: newMetrics(), store: st}
}

// Name implements exporter.Domain.
func (d *Domain) Name() string { return "ocsp" }

// Describe implements exporter.Domain.
func (d *Domain) Describe(ch chan<- *prometheus.Desc) {
	describe(ch)
	for _, c := range d.m.collectors() {
		c.Describe(ch)
	}
}

// Build implements exporter.Domain: an unchanged ocsp section keeps the
// canary and all it tracks; a changed one starts afresh.
func (d *Domain) Build(cfg *config.Config, prev exporter.Component) (exporter.Component, error) {
	old, _ := prev.(*canary)
	if old != nil && reflect.DeepEqual(old.cfg, cfg.OCSP) {
		return old, nil
	}
	if old != nil {
		d.m.forget(removedNames(old.cfg, cfg.OCSP))
		if old.persist != nil {
			_ = old.persist.flush(old.tracker) // the new canary starts from it
		}
	}
	c, err := newCanary(cfg, d.m, d.store, d.logger)
	if err != nil {
		return nil, fmt.Errorf("OCSP canary: %w", err)
	}
	if c == nil {
		return nil, nil // no origins configured
	}
	c.adoptCTPositions(old)
	if old != nil && c.persist == nil {
		// No store to start from: take over what the old canary tracked,
		// so a reload never forgets a violation.
		c.tracker.adopt(old.tracker, old.originNames(), c.originNames(), old.issuers, c.issuers)
		c.initialStats()
	}
	return c, nil
}

// Close implements exporter.Component: nothing of a canary is reused.
func (c *canary) Close(exporter.Component) { c.close() }

// removedNames lists origins and sources in old but not in next.
func removedNames(old, next config.OCSP) (origins, sources []string) {
	keep := map[string]bool{}
	for _, o := range next.Origins {
		keep["o\x00"+o.Name] = true
	}
	for _, s := range next.Sources {
		keep["s\x00"+s.Name] = true
	}
	for _, o := range old.Origins {
		if !keep["o\x00"+o.Name] {
			origins = append(origins, o.Name)
		}
	}
	for _, s := range old.Sources {
		if !keep["s\x00"+s.Name] {
			sources = append(sources, s.Name)
		}
	}
	return origins, sources
}

func newHealth() target.Health {
	return target.NewHealth(target.Classifier{Reasons: pgconn.FailureReasons(), ReasonOf: pgconn.Reason})
}

// Probe label values.
const (
	probeSource = "source"
	probeOCSP   = "ocsp"
)
