// Package exporter runs the domains' components: it builds them from the
// configuration, starts and stops their loops on reload, collects their
// snapshots for Prometheus, and serves the HTTP endpoints.
package exporter

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

var (
	configReloadOK   = target.Desc("config_last_reload_successful", "Whether the last configuration load succeeded.")
	configReloadTime = target.Desc("config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load.")
)

// Exporter owns the running components. A scrape reads only their latest
// snapshots, so it never waits on a database or an origin.
type Exporter struct {
	logger  *slog.Logger
	domains []Domain

	// lifecycle makes ApplyConfig and Stop one at a time and guards the
	// loops' cancel and wg; scrapes never take it.
	lifecycle sync.Mutex
	cancel    context.CancelFunc
	wg        *sync.WaitGroup

	// mu guards what scrapes read; it is held only to swap values, never
	// across stopping loops, building components or I/O.
	mu         sync.RWMutex
	cfg        *config.Config
	components []Component // by domain index; nil where a domain has nothing to do
	reloadOK   bool
	reloadAt   time.Time
	certLink   *template.Template // web.certificate_link; nil: no link
}

// New returns an exporter for these domains with nothing running;
// ApplyConfig starts it.
func New(logger *slog.Logger, domains ...Domain) *Exporter {
	return &Exporter{logger: logger, domains: domains, components: make([]Component, len(domains))}
}

// ApplyConfig stops the running loops and starts the components for cfg.
// What did not change keeps its connections, history and values.
func (e *Exporter) ApplyConfig(cfg *config.Config) {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	// Stop first, then build: a component rebuilt from the store sees all
	// the old one wrote on its way out. Scrapes serve the old snapshots
	// meanwhile; each call derives its context from the loops', so stopping
	// is prompt.
	e.stopLoops()
	e.mu.RLock()
	prev := slices.Clone(e.components)
	e.mu.RUnlock()
	next := make([]Component, len(e.domains))
	for i, d := range e.domains {
		c, err := d.Build(cfg, prev[i])
		if err != nil {
			e.logger.Error("component not started", "domain", d.Name(), "err", err)
		}
		next[i] = c
	}
	// Validated by config.Load; a config built in code without it gets no link.
	link, _ := config.ParseCertificateLink(cfg.Web.CertificateLink)
	e.mu.Lock()
	e.cfg, e.components, e.certLink = cfg, next, link
	e.reloadOK, e.reloadAt = true, time.Now()
	e.mu.Unlock()
	// Closing old connections may wait on a frozen server: off the scrape
	// path, and off this call.
	for i, old := range prev {
		if old != nil && old != next[i] {
			go old.Close(next[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.wg = cancel, &sync.WaitGroup{}
	for _, c := range next {
		if c != nil {
			c.Start(ctx, e.wg)
		}
	}
	e.logger.Info("configuration applied", "replicas", len(cfg.Replicas), "primary", cfg.Primary != nil,
		"origins", len(cfg.OCSP.Origins), "sources", len(cfg.OCSP.Sources))
}

// ReloadFailed records a refused configuration; the running one stays.
func (e *Exporter) ReloadFailed() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reloadOK = false
}

// Stop ends every loop and closes connections.
func (e *Exporter) Stop() {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	e.stopLoops()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.components {
		if c != nil {
			c.Close(nil)
		}
		e.components[i] = nil
	}
}

func (e *Exporter) stopLoops() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.wg.Wait()
	e.cancel = nil
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	ch <- configReloadOK
	ch <- configReloadTime
	for _, d := range e.domains {
		d.Describe(ch)
	}
}

// Collect implements prometheus.Collector from the components' snapshots.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	ch <- target.BoolGauge(configReloadOK, e.reloadOK)
	if !e.reloadAt.IsZero() {
		ch <- target.Gauge(configReloadTime, target.Unix(e.reloadAt))
	}
	for _, c := range e.components {
		if c != nil {
			c.Collect(ch)
		}
	}
}

// NewRegistry is a fresh registry with the exporter, build info, the Go
// and process collectors, and any others (the store).
func NewRegistry(e *Exporter, others ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(others...)
	reg.MustRegister(
		e,
		versioncollector.NewCollector("certstatus_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
