package crl

import (
	"log/slog"
	"reflect"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/view"
	"github.com/certstatus/certstatus_exporter/store"
)

// Domain is the CRL canary domain of the exporter. Its counters and the
// CRLNumber/thisUpdate marks live as long as the process, so neither goes
// back on a reload.
type Domain struct {
	logger  *slog.Logger
	metrics *Metrics
	marks   Marks
}

// NewDomain returns the CRL domain; st persists the marks (nil: memory only).
func NewDomain(logger *slog.Logger, st *store.Store) *Domain {
	return &Domain{logger: logger, metrics: NewMetrics(), marks: NewStoredMarks(st)}
}

// Name implements exporter.Domain.
func (d *Domain) Name() string { return "crl" }

// Describe implements exporter.Domain.
func (d *Domain) Describe(ch chan<- *prometheus.Desc) { d.metrics.Describe(ch) }

// Build implements exporter.Domain: an unchanged crl section keeps the
// running canary and what it has seen; a changed one starts a new canary
// that keeps the marks.
func (d *Domain) Build(cfg *config.Config, prev exporter.Component) (exporter.Component, error) {
	old, _ := prev.(*Canary)
	if old != nil && reflect.DeepEqual(old.cfg, cfg.CRL) && reflect.DeepEqual(old.ocspCfg, ocspOrigins(cfg)) {
		return old, nil
	}
	// A list fetched by URL carries over while its URL stays, so its shards'
	// counters neither reset nor linger.
	var inherited []config.Shard
	if old != nil {
		old.mu.RLock()
		oldShards := old.shards()
		if l, n := old.cfg.ShardList, cfg.CRL.ShardList; l != nil && n != nil && l.URL != "" && l.URL == n.URL {
			inherited = append(inherited, old.listShards...)
		}
		old.mu.RUnlock()
		d.forgetRemoved(oldShards, old.cfg.Origins, append(append([]config.Shard(nil), cfg.CRL.Shards...), inherited...), cfg.CRL.Origins)
	}
	if !cfg.CRL.Configured() {
		return nil, nil
	}
	c := NewCanary(cfg.CRL, Options{Marks: d.marks, Metrics: d.metrics, Logger: d.logger, OCSPOrigins: ocspOrigins(cfg)})
	if len(inherited) > 0 {
		c.setListShards(inherited) // not running yet: no lock needed
	}
	return c, nil
}

// ocspOrigins are the OCSP origins the revocations are cross-checked at:
// the ocsp section's, when the crl section has a revocation source.
func ocspOrigins(cfg *config.Config) []config.Origin {
	if cfg.CRL.Revocations == nil {
		return nil
	}
	return cfg.OCSP.Origins
}

// forgetRemoved drops the counters of shard/origin pairs no longer
// configured, so they do not linger.
func (d *Domain) forgetRemoved(oldShards []config.Shard, oldOrigins []config.CRLOrigin, shards []config.Shard, origins []config.CRLOrigin) {
	keep := map[markKey]bool{}
	for _, o := range origins {
		for _, s := range shards {
			keep[markKey{s.Name, o.Name}] = true
		}
	}
	for _, o := range oldOrigins {
		for _, s := range oldShards {
			if !keep[markKey{s.Name, o.Name}] {
				d.metrics.Forget(s.Name, o.Name)
			}
		}
	}
}

var (
	_ exporter.Component    = (*Canary)(nil)
	_ view.RevocationLister = (*Canary)(nil)
)
