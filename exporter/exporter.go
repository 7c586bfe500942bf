package exporter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/certstatus/certstatus_exporter/config"
)

// Exporter owns the running probe loops. A scrape reads only their latest
// snapshot, so it never waits on a database or an OCSP origin.
type Exporter struct {
	logger *slog.Logger

	mu       sync.RWMutex
	cfg      *config.Config
	repl     *replication
	cancel   context.CancelFunc
	wg       *sync.WaitGroup
	reloadOK bool
	reloadAt time.Time
}

// New returns an exporter with nothing running; ApplyConfig starts it.
func New(logger *slog.Logger) *Exporter {
	return &Exporter{logger: logger}
}

// ApplyConfig stops the running loops and starts new ones for cfg. Targets
// whose settings did not change keep their connection, history and values.
func (e *Exporter) ApplyConfig(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := newReplication(cfg, e.repl)
	e.stopLoops()
	if e.repl != nil {
		e.repl.closeUnused(next)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cfg, e.cancel, e.wg = cfg, cancel, &sync.WaitGroup{}
	e.repl = next
	e.repl.start(ctx, e.wg, e.logger)
	e.reloadOK, e.reloadAt = true, time.Now()
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
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopLoops()
	if e.repl != nil {
		e.repl.closeUnused(nil)
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

var allDescs = []*prometheus.Desc{
	replicaUp, replicaStreaming, replicaReplayPaused, replicaLastMsgAge, replicaReceiveLag, replicaReplayLag,
	replicaReplayLagSecs, replicaHeadroom, replicaLossETA, replicaWALLost,
	primaryUp, primaryPosition, primaryRetained, primaryKeep, primarySegmentSize, primaryWALRate, primarySenders,
	slotSafeWALSize, slotActive, slotLost,
	probeLastSuccess, probeDuration, probeFailures, configReloadOK, configReloadTime,
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the loops' snapshots.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	ch <- boolGauge(configReloadOK, e.reloadOK)
	if !e.reloadAt.IsZero() {
		ch <- gauge(configReloadTime, float64(e.reloadAt.UnixNano())/1e9)
	}
	if e.repl != nil {
		e.repl.collect(ch)
	}
}

// NewRegistry is a fresh registry with the exporter, build info, and the Go
// and process collectors.
func NewRegistry(e *Exporter) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		e,
		versioncollector.NewCollector("certstatus_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
