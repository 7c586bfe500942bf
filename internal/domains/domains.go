// Package domains lists what the exporter monitors: the one place a new
// domain is registered, shared by the binary and the tests that need the
// whole exporter (metric reference, dashboards, integration).
package domains

import (
	"log/slog"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/crl"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/replication"
	"github.com/certstatus/certstatus_exporter/store"
)

// All returns every domain, each with its own scoped logger; st persists
// their state (nil: nothing is persisted).
func All(logger *slog.Logger, st *store.Store) []exporter.Domain {
	return []exporter.Domain{
		replication.NewDomain(logger.With("domain", "replication")),
		canary.NewDomain(logger.With("domain", "ocsp"), st),
		crl.NewDomain(logger.With("domain", "crl"), st),
	}
}
