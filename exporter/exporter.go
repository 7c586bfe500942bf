package exporter

import (
	"context"
	"log/slog"
	"sync"
	"text/template"
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

	ocspMetrics *ocspMetrics

	mu       sync.RWMutex
	cfg      *config.Config
	repl     *replication
	canary   *canary // nil without OCSP origins
	cancel   context.CancelFunc
	wg       *sync.WaitGroup
	reloadOK bool
	reloadAt time.Time
	certLink *template.Template // web.certificate_link; nil: no link
}

// New returns an exporter with nothing running; ApplyConfig starts it.
func New(logger *slog.Logger) *Exporter {
	return &Exporter{logger: logger, ocspMetrics: newOCSPMetrics()}
}

// ApplyConfig stops the running loops and starts new ones for cfg. Targets
// whose settings did not change keep their connection, history and values.
func (e *Exporter) ApplyConfig(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := newReplication(cfg, e.repl)
	// Cancelling stops every loop promptly: each call derives its context from
	// the loops'. Closing old connections may wait on a frozen server, so it
	// happens off the lock, and off the scrape path.
	e.stopLoops()
	if old := e.repl; old != nil {
		go old.closeUnused(next)
	}
	e.applyCanary(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	e.cfg, e.cancel, e.wg = cfg, cancel, &sync.WaitGroup{}
	e.repl = next
	e.repl.start(ctx, e.wg, e.logger)
	if e.canary != nil {
		e.canary.start(ctx, e.wg, e.logger)
	}
	e.reloadOK, e.reloadAt = true, time.Now()
	// Validated by config.Load; a config built in code without it gets no link.
	e.certLink, _ = config.ParseCertificateLink(cfg.Web.CertificateLink)
	e.logger.Info("configuration applied", "replicas", len(cfg.Replicas), "primary", cfg.Primary != nil,
		"origins", len(cfg.OCSP.Origins), "sources", len(cfg.OCSP.Sources))
}

// applyCanary keeps the canary (and what it tracks) when the OCSP section
// did not change, and rebuilds it otherwise. Loops are stopped.
func (e *Exporter) applyCanary(cfg *config.Config) {
	if e.canary.sameConfig(cfg) {
		return
	}
	if old := e.canary; old != nil {
		go old.close()
		e.ocspMetrics.forget(removedNames(old.cfg, cfg.OCSP))
	}
	c, err := newCanary(cfg, e.ocspMetrics)
	if err != nil {
		e.logger.Error("OCSP canary not started", "err", err)
	}
	e.canary = c
}

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
	if e.canary != nil {
		e.canary.close()
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
	ocspCertificates, ocspOriginUp, ocspOldestThis, ocspNewestThis, ocspEarliestNext, ocspLatestNext, ocspCDNDisagree,
	ocspTracked, sourceUp,
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
	for _, c := range e.ocspMetrics.collectors() {
		c.Describe(ch)
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
	if e.canary != nil {
		e.canary.collect(ch)
	}
	for _, c := range e.ocspMetrics.collectors() {
		c.Collect(ch)
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
