// Package replication measures how far each PostgreSQL replica of the
// certificate-status database is behind its primary, in bytes and seconds,
// and how much WAL headroom it has before the primary removes what it needs.
package replication

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Domain is the replication domain of the exporter.
type Domain struct{ logger *slog.Logger }

// NewDomain returns the replication domain.
func NewDomain(logger *slog.Logger) *Domain { return &Domain{logger: logger} }

// Name implements exporter.Domain.
func (d *Domain) Name() string { return "replication" }

// Describe implements exporter.Domain.
func (d *Domain) Describe(ch chan<- *prometheus.Desc) { describe(ch) }

// Build implements exporter.Domain: unchanged targets of prev keep their
// connection, history, health and last values.
func (d *Domain) Build(cfg *config.Config, prev exporter.Component) (exporter.Component, error) {
	if cfg.Primary == nil && len(cfg.Replicas) == 0 {
		return nil, nil
	}
	old, _ := prev.(*replication)
	return newReplication(cfg, old, d.logger), nil
}

// Close implements exporter.Component.
func (r *replication) Close(next exporter.Component) {
	n, _ := next.(*replication)
	r.closeUnused(n)
}

func newHealth() target.Health {
	return target.NewHealth(target.Classifier{Reasons: pgconn.FailureReasons(), ReasonOf: pgconn.Reason})
}
