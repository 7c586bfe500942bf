package exporter

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Domain is one monitored concern (replication, the OCSP canary, ...). It
// lives as long as the process, so its counters never go back; adding a
// domain is one package implementing this plus one line in main.go.
type Domain interface {
	// Name identifies the domain in logs.
	Name() string
	// Describe sends every metric the domain may emit.
	Describe(ch chan<- *prometheus.Desc)
	// Build returns the component for cfg, or nil when cfg configures nothing
	// for this domain. prev is what Build returned last time (nil at first):
	// an unchanged configuration may return prev itself, a changed one may
	// reuse its unchanged parts.
	Build(cfg *config.Config, prev Component) (Component, error)
}

// Component is a domain's running part for one configuration.
type Component interface {
	// Start launches the background loops; they end when ctx does.
	Start(ctx context.Context, wg *sync.WaitGroup)
	// Close releases what next does not reuse (next is nil at shutdown). It
	// is called after the loops have stopped, off the scrape path.
	Close(next Component)
	// Collect emits the latest snapshot; it never waits on I/O.
	Collect(ch chan<- prometheus.Metric)
	// Status lists the component's targets for the status page.
	Status() []target.Row
}
