package canary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/internal/view"
	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

// canary runs one loop per certificate source and one per origin over a
// shared tracker.
type canary struct {
	logger     *slog.Logger
	reconciler *reconciler // nil without an inventory source
	persist    *persister  // nil without a store
	cfg        config.OCSP
	issuers    []*ocsp.Issuer
	tracker    *Tracker
	m          *metrics
	sources    []*sourceTarget
	origins    []*originTarget
	// nonCDN are the indexes of the origins a CDN is compared with.
	nonCDN     []int
	compliance *compliance
}

type fetcher interface {
	Fetch(ctx context.Context) ([]Found, error)
	Close()
}

type sourceTarget struct {
	role  Sighting // CT log, inventory, or neither
	name  string
	typ   string
	fetch fetcher
	seen  *SeenSet

	mu     sync.RWMutex
	health target.Health
	newest time.Time // the latest publication time among its certificates
	mark   time.Time // an incremental source's read position (see marker)
	behind bool      // its last read moved the mark: more rows may wait
	// goodReadStart: when the last successful read began; all it returned
	// was committed by then.
	goodReadStart time.Time
}

type originTarget struct {
	idx    int
	name   string
	cdn    bool
	client *ocsp.Client
	// wake starts a pass at once when a source found new certificates, so
	// their first check does not wait for the next tick.
	wake chan struct{}
	conc int
	// timeout bounds one request.
	timeout time.Duration

	mu       sync.RWMutex
	probed   bool
	up       bool
	lastErr  string
	lastPass time.Time
	// lastAnswer is when the origin last sent an OCSP response of any status.
	lastAnswer   time.Time
	passDuration time.Duration
	stats        OriginStats
	statsAt      time.Time // zero until stats are known
}

// newCanary builds the canary for cfg; nil when no origin is configured.
func newCanary(cfg *config.Config, m *metrics, st *store.Store, logger *slog.Logger) (*canary, error) {
	o := cfg.OCSP
	if len(o.Origins) == 0 {
		return nil, nil
	}
	c := &canary{logger: logger, cfg: o, m: m, tracker: NewTracker(len(o.Origins), o.MaxTracked)}
	c.tracker.SetSchedule(Schedule{Recheck: o.RecheckInterval.D(), TrackFor: o.TrackFor.D(), Rate: o.RecheckRate, Pass: o.Interval.D()})
	for _, cert := range o.IssuerCerts {
		is, err := ocsp.NewIssuer(cert)
		if err != nil {
			return nil, err
		}
		c.issuers = append(c.issuers, is)
	}
	for _, s := range o.Sources {
		src := &sourceTarget{role: role(s, len(c.sources)), name: s.Name, typ: s.Type, seen: NewSeenSet(o.MaxTracked), health: newHealth()}
		switch s.Type {
		case config.SourceSQL:
			src.fetch = NewSQLSource(s, o.Timeout.D(), st, time.Now().Add(-o.TrackFor.D()))
		case config.SourceCT:
			cs, err := NewCTSource(s, o.IssuerCerts, o.Timeout.D(), m.ct, st)
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", s.Name, err)
			}
			src.fetch = cs
		default:
			src.fetch = NewDirSource(s.Path)
		}
		c.sources = append(c.sources, src)
	}
	// A CA has a handful of responder certificates; 64 is plenty.
	responders := ocsp.NewResponderCache(64)
	for i, og := range o.Origins {
		transport := &http.Transport{
			DialContext:           (&net.Dialer{Timeout: og.Timeout.D()}).DialContext,
			MaxConnsPerHost:       og.Concurrency,
			MaxIdleConnsPerHost:   og.Concurrency,
			IdleConnTimeout:       time.Minute,
			ResponseHeaderTimeout: og.Timeout.D(),
			DisableCompression:    true,
		}
		c.origins = append(c.origins, &originTarget{
			idx: i, name: og.Name, cdn: og.CDN, conc: og.Concurrency, timeout: og.Timeout.D(), wake: make(chan struct{}, 1),
			client: &ocsp.Client{URL: og.URL, Host: og.Host, Method: og.Method, Responders: responders,
				HTTP: &http.Client{Transport: transport, Timeout: og.Timeout.D(),
					// An OCSP answer is the origin's own; a redirect is an error.
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}},
		})
		if !og.CDN {
			c.nonCDN = append(c.nonCDN, i)
		}
	}
	for _, o := range c.origins {
		if o.cdn {
			c.tracker.CompareCDN(o.idx, c.nonCDN)
		}
	}
	hasCT, hasInventory := false, false
	for _, s := range o.Sources {
		hasCT = hasCT || s.Type == config.SourceCT
		hasInventory = hasInventory || s.Inventory
	}
	c.tracker.Reconciling(hasInventory, hasCT)
	var origins, sources []string
	for _, og := range o.Origins {
		origins = append(origins, og.Name)
	}
	for _, s := range o.Sources {
		sources = append(sources, s.Name)
	}
	m.initLabels(origins, sources)
	c.compliance = newCompliance(o, c.issuers, c.tracker, m.compliance)
	c.reconciler = newReconciler(o, c.tracker)
	if c.reconciler != nil {
		c.reconciler.upTo = c.inventoryUpTo
	}
	c.tracker.invGrace = o.InventoryGrace.D()
	if st.Persistent() {
		c.persist = &persister{st: st, issuers: c.issuers, origins: origins, sources: sources}
		loaded, skipped := c.persist.load(c.tracker)
		logger.Info("tracked certificates restored from the store", "restored", loaded, "skipped", skipped)
	} else {
		c.tracker.KeepChanges(false)
	}
	c.initialStats()
	return c, nil
}

// initialStats gives each origin its counts from what was restored, so the
// states and clocks from before a restart are served before the first pass.
func (c *canary) initialStats() {
	now := time.Now()
	for _, o := range c.origins {
		var trans []Transition
		o.stats, trans = c.tracker.Stats(o.idx, now, c.cfg.SLA.D())
		o.statsAt = now
		// Certificates that went overdue while the exporter was down.
		logTransitions(c.logger.With("probe", probeOCSP, "origin", o.name), trans)
	}
}

// Start implements exporter.Component.
func (c *canary) Start(ctx context.Context, wg *sync.WaitGroup) {
	logger := c.logger
	if c.persist != nil {
		c.persist.run(ctx, wg, c.tracker, logger)
	}
	interval := c.cfg.Interval.D()
	for _, s := range c.sources {
		l := logger.With("probe", probeSource, "source", s.name)
		target.Every(ctx, wg, interval, c.cfg.Timeout.D(), l, func(ctx context.Context) { c.pollSource(ctx, s, l) })
	}
	for _, o := range c.origins {
		l := logger.With("probe", probeOCSP, "origin", o.name)
		// A pass may use the whole interval; each request has its own timeout.
		target.EveryOrWhen(ctx, wg, interval, interval, o.wake, l, func(ctx context.Context) { c.checkOrigin(ctx, o, l) })
	}
	c.compliance.start(ctx, wg, logger)
	c.reconciler.start(ctx, wg, logger)
}

func (c *canary) close() {
	for _, s := range c.sources {
		s.fetch.Close()
	}
	for _, o := range c.origins {
		o.client.HTTP.CloseIdleConnections()
	}
	c.compliance.close()
}

func (c *canary) pollSource(ctx context.Context, s *sourceTarget, logger *slog.Logger) {
	start := time.Now()
	found, err := s.fetch.Fetch(ctx)
	// A read we cut short (reload, shutdown) says nothing about the source;
	// what it returned was read all the same (and marked read): use it.
	if !(err != nil && target.Cancelled(ctx)) {
		c.recordSource(s, start, err, logger)
	}
	if m, ok := s.fetch.(marker); ok {
		s.mu.Lock()
		s.mark, s.behind = m.Mark(), m.Behind()
		s.mu.Unlock()
	}
	c.tracker.Expire(start)
	added := false
	for _, f := range found {
		added = c.take(s, f, start, logger) || added
	}
	if added {
		for _, o := range c.origins {
			select {
			case o.wake <- struct{}{}:
			default: // a pass is already due
			}
		}
	}
	if err == nil {
		// Only now, with all it read tracked, is the source complete to here.
		s.mu.Lock()
		s.goodReadStart = start
		s.mu.Unlock()
	}
	c.commit(s)
}

// committer is a source whose read position is written only by Commit.
type committer interface{ Commit() }

// commit writes the source's position once the certificates it returned
// are on disk; if they could not be written, the position is not either, and
// a restart reads them again.
func (c *canary) commit(s *sourceTarget) {
	cm, ok := s.fetch.(committer)
	if !ok {
		return
	}
	if c.persist != nil && c.persist.flush(c.tracker) != nil {
		return
	}
	cm.Commit()
}

func (c *canary) recordSource(s *sourceTarget, start time.Time, err error, logger *slog.Logger) {
	s.mu.Lock()
	wasUp := s.health.Up || !s.health.Probed
	s.health.Record(start, err)
	s.mu.Unlock()
	if err == nil {
		return
	}
	c.m.sourceErrors.WithLabelValues(s.name, SourceErrFetch).Inc()
	if wasUp {
		logger.Warn("certificate source failed", "reason", pgconn.Reason(err), "err", config.Scrub(err.Error()))
	}
}

// take parses, counts and tracks one certificate a source returned. Each
// distinct certificate is parsed, counted and logged once. It reports
// whether the tracker has a new certificate.
func (c *canary) take(s *sourceTarget, f Found, now time.Time, logger *slog.Logger) bool {
	if f.Unreadable {
		c.m.sourceErrors.WithLabelValues(s.name, SourceErrUnparseable).Inc()
		logger.Warn("certificate skipped", "id", f.ID, "reason", SourceErrUnparseable, "err", "unreadable")
		return false
	}
	if !s.seen.Add(f.Raw) {
		return false
	}
	ic, err := ParseIssued(f, c.issuers, now)
	ic.SeenBy = s.role
	ic.SeenBy.At = now
	if err != nil {
		reason := SourceErrUnparseable
		var ce *CertError
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		c.m.sourceErrors.WithLabelValues(s.name, reason).Inc()
		logger.Warn("certificate skipped", "id", f.ID, "reason", reason, "err", err)
		return false
	}
	if ic.NotAfter.Before(now) {
		return false // expired: no status answer is owed
	}
	c.m.discovered.WithLabelValues(s.name, ic.Kind).Inc()
	s.mu.Lock()
	if ic.PublishedAt.After(s.newest) {
		s.newest = ic.PublishedAt
	}
	s.mu.Unlock()
	added, ev := c.tracker.Add(ic)
	c.m.evicted.Add(float64(ev.Resolved + ev.Unresolved))
	c.m.evictedUnresolved.Add(float64(ev.Unresolved))
	if ev.Unresolved > 0 {
		logger.Error("max_tracked reached: certificates not yet authoritative everywhere were dropped; raise ocsp.max_tracked",
			"dropped", ev.Unresolved)
	}
	if added {
		logger.Debug("tracking certificate", "serial", ic.Serial.Text(16), "kind", ic.Kind,
			"published_at", ic.PublishedAt, "provenance", ic.Provenance)
	}
	return added
}

func (c *canary) checkOrigin(ctx context.Context, o *originTarget, logger *slog.Logger) {
	now := time.Now()
	due := c.tracker.Due(o.idx, now)
	sem := make(chan struct{}, o.conc)
	var wg sync.WaitGroup
	for _, d := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done(): // out of time: the rest waits for the next pass
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			reqCtx, cancel := context.WithTimeout(ctx, o.timeout)
			res := o.client.Recheck(reqCtx, c.issuers[d.Issuer], d.Serial, d.Known, time.Now)
			cancel()
			// Cut short by the end of the pass or a reload, not by the origin:
			// asked again next pass.
			if ctx.Err() == nil {
				c.record(o, d, res, logger)
			}
		}()
	}
	wg.Wait()
	stats, transitions := c.tracker.Stats(o.idx, time.Now(), c.cfg.SLA.D())
	logTransitions(logger, transitions)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats, o.statsAt, o.lastPass, o.passDuration = stats, time.Now(), now, time.Since(now)
}

func (c *canary) record(o *originTarget, d Due, res ocsp.Outcome, logger *slog.Logger) {
	c.m.responses.WithLabelValues(o.name, res.Result.String()).Inc()
	c.m.duration.WithLabelValues(o.name).Observe(res.Duration.Seconds())
	if !res.Result.Authoritative() && res.Cacheable {
		c.m.cacheableErrors.WithLabelValues(o.name, res.Result.String()).Inc()
	}
	if took, first := c.tracker.Record(o.idx, d, res, time.Now()); first {
		c.m.timeToAuth.WithLabelValues(o.name).Observe(took.Seconds())
	}
	o.mu.Lock()
	o.probed, o.up, o.lastErr = true, res.Result.Answered(), res.Detail
	if o.up {
		o.lastAnswer = time.Now()
	}
	o.mu.Unlock()
	if !res.Result.Authoritative() {
		logger.Debug("non-authoritative answer", "serial", d.Serial.Text(16), "result", res.Result, "detail", res.Detail)
	}
}

// Collect implements exporter.Component.
func (c *canary) Collect(ch chan<- prometheus.Metric) {
	for _, col := range c.m.collectors() {
		col.Collect(ch)
	}
	ch <- target.Gauge(ocspTracked, float64(c.tracker.Len()))
	c.reconciler.collect(ch)
	if c.persist != nil {
		ch <- target.Gauge(ocspUnpersisted, float64(c.tracker.Unpersisted()))
	}
	for _, s := range c.sources {
		s.mu.RLock()
		if s.health.Probed {
			ch <- target.BoolGauge(sourceUp, s.health.Up, s.name)
		}
		s.health.Collect(ch, probeSource, s.name)
		s.mu.RUnlock()
		if cs, ok := s.fetch.(*CTSource); ok {
			cs.collect(ch)
		}
	}
	for _, o := range c.origins {
		se := c.m.originSeries(o.name)
		if se == nil { // not configured any more: a reload is replacing this canary
			continue
		}
		o.mu.RLock()
		if !o.statsAt.IsZero() {
			st := o.stats
			ch <- se.certs[0].Gauge(float64(st.Pending))
			ch <- se.certs[1].Gauge(float64(st.Authoritative))
			ch <- se.certs[2].Gauge(float64(st.Overdue))
			if !st.OldestThisUpdate.IsZero() {
				ch <- se.oldestThis.Gauge(target.Unix(st.OldestThisUpdate))
				ch <- se.newestThis.Gauge(target.Unix(st.NewestThisUpdate))
				ch <- se.earliestNext.Gauge(target.Unix(st.EarliestNextUpdate))
				ch <- se.latestNext.Gauge(target.Unix(st.LatestNextUpdate))
			}
			ch <- se.backlog.Gauge(st.RecheckBacklog.Seconds())
			if o.cdn {
				ch <- se.cdnStatus.Gauge(float64(st.CDNWorseStatus))
				ch <- se.cdnOlderThis.Gauge(float64(st.CDNOlderThisUpdate))
			}
		}
		if o.probed {
			ch <- se.up.Bool(o.up)
		}
		o.mu.RUnlock()
	}
	c.compliance.collect(ch)
}

const maxTransitionLines = 100

// logTransitions writes one line per certificate that became overdue at
// this origin or recovered: what log-based alerting (Loki) keys on.
// At most maxTransitionLines per pass: a 58,000-certificate incident
// (seed 002) must not write 58,000 lines per origin at once; the rest is one
// count line, and the incident view lists them all.
func logTransitions(logger *slog.Logger, ts []Transition) {
	if n := len(ts) - maxTransitionLines; n > 0 {
		logger.Warn("more certificates changed overdue state this pass than are logged one by one; see /status",
			"not_logged", n, "logged", maxTransitionLines)
		ts = ts[:maxTransitionLines]
	}
	for _, t := range ts {
		// Spelled as on /status and in the API, so a serial found in one greps in the others.
		args := []any{"serial", view.SerialHex(t.Serial), "kind", t.Kind, "result", t.Result.String(),
			"age", t.Age.Round(time.Second).String()}
		if t.Recovered {
			logger.Info("certificate authoritative again", args...)
		} else {
			logger.Warn("certificate overdue: no authoritative answer within the SLA", args...)
		}
	}
}

func (c *canary) originNames() []string {
	names := make([]string, len(c.origins))
	for i, o := range c.origins {
		names[i] = o.name
	}
	return names
}

// inventoryUpTo is how far every inventory source is known complete: the
// start of its last successful read (what it returned was committed by
// then), or, for an incremental query still catching up (its last read
// moved the mark), its mark if that is earlier. A source that is down stops
// the clock, so an outage of the CA database is not "everything missing".
func (c *canary) inventoryUpTo() time.Time {
	var upTo time.Time
	for _, s := range c.sources {
		if s.role.Inventory == 0 {
			continue
		}
		s.mu.RLock()
		t := s.goodReadStart
		if s.behind && !s.mark.IsZero() && s.mark.Before(t) {
			t = s.mark
		}
		s.mu.RUnlock()
		if upTo.IsZero() || t.Before(upTo) {
			upTo = t
		}
	}
	return upTo
}
