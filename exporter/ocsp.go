package exporter

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/probes"
)

// canary runs one loop per certificate source and one per origin over a
// shared tracker.
type canary struct {
	cfg     config.OCSP
	issuers []*probes.Issuer
	tracker *probes.Tracker
	m       *ocspMetrics
	sources []*sourceTarget
	origins []*originTarget
	// nonCDN are the indexes of the origins a CDN is compared with.
	nonCDN []int
}

type fetcher interface {
	Fetch(ctx context.Context) ([]probes.Found, error)
	Close()
}

type sourceTarget struct {
	name  string
	typ   string
	fetch fetcher
	seen  *probes.SeenSet

	mu     sync.RWMutex
	health health
}

type originTarget struct {
	idx    int
	name   string
	cdn    bool
	client *probes.OCSPClient
	conc   int
	// timeout bounds one request.
	timeout time.Duration

	mu       sync.RWMutex
	probed   bool
	up       bool
	lastErr  string
	lastPass time.Time
	passTook time.Duration
	// lastAnswer is when the origin last sent an OCSP response of any status.
	lastAnswer time.Time
	stats      probes.OriginStats
}

// newCanary builds the canary for cfg; nil when no origin is configured.
func newCanary(cfg *config.Config, m *ocspMetrics) (*canary, error) {
	o := cfg.OCSP
	if len(o.Origins) == 0 {
		return nil, nil
	}
	c := &canary{cfg: o, m: m, tracker: probes.NewTracker(len(o.Origins), o.MaxTracked)}
	for _, cert := range o.IssuerCerts {
		is, err := probes.NewIssuer(cert)
		if err != nil {
			return nil, err
		}
		c.issuers = append(c.issuers, is)
	}
	for _, s := range o.Sources {
		st := &sourceTarget{name: s.Name, typ: s.Type, seen: probes.NewSeenSet(o.MaxTracked), health: newHealth()}
		if s.Type == config.SourceSQL {
			st.fetch = probes.NewSQLSource(s, o.Timeout.D())
		} else {
			st.fetch = probes.NewDirSource(s.Path)
		}
		c.sources = append(c.sources, st)
	}
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
			idx: i, name: og.Name, cdn: og.CDN, conc: og.Concurrency, timeout: og.Timeout.D(),
			client: &probes.OCSPClient{URL: og.URL, Host: og.Host, Method: og.Method,
				HTTP: &http.Client{Transport: transport, Timeout: og.Timeout.D(),
					// An OCSP answer is the origin's own; a redirect is an error.
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}},
		})
		if !og.CDN {
			c.nonCDN = append(c.nonCDN, i)
		}
	}
	var origins, sources []string
	for _, og := range o.Origins {
		origins = append(origins, og.Name)
	}
	for _, s := range o.Sources {
		sources = append(sources, s.Name)
	}
	m.initLabels(origins, sources)
	return c, nil
}

// sameConfig: an unchanged OCSP section keeps the canary and all it tracks.
func (c *canary) sameConfig(cfg *config.Config) bool {
	return c != nil && reflect.DeepEqual(c.cfg, cfg.OCSP)
}

func (c *canary) start(ctx context.Context, wg *sync.WaitGroup, logger *slog.Logger) {
	interval := c.cfg.Interval.D()
	for _, s := range c.sources {
		l := logger.With("probe", probeSource, "source", s.name)
		every(ctx, wg, interval, c.cfg.Timeout.D(), l, func(ctx context.Context) { c.pollSource(ctx, s, l) })
	}
	for _, o := range c.origins {
		l := logger.With("probe", probeOCSP, "origin", o.name)
		// A pass may use the whole interval; each request has its own timeout.
		every(ctx, wg, interval, interval, l, func(ctx context.Context) { c.checkOrigin(ctx, o, l) })
	}
}

func (c *canary) close() {
	for _, s := range c.sources {
		s.fetch.Close()
	}
	for _, o := range c.origins {
		o.client.HTTP.CloseIdleConnections()
	}
}

func (c *canary) pollSource(ctx context.Context, s *sourceTarget, logger *slog.Logger) {
	start := time.Now()
	found, err := s.fetch.Fetch(ctx)
	if err != nil && cancelled(ctx) {
		return
	}
	s.mu.Lock()
	wasUp := s.health.up || !s.health.probed
	s.health.record(start, err)
	s.mu.Unlock()
	if err != nil {
		c.m.sourceErrors.WithLabelValues(s.name, probes.SourceErrFetch).Inc()
		if wasUp {
			logger.Warn("certificate source failed", "reason", probes.Reason(err), "err", config.Scrub(err.Error()))
		}
		return
	}
	cutoff := start.Add(-c.cfg.TrackFor.D())
	c.tracker.Expire(cutoff)
	for _, f := range found {
		// Each distinct certificate is parsed, counted and logged once.
		if !s.seen.Add(f.Raw) {
			continue
		}
		ic, err := probes.ParseIssued(f.Raw, c.issuers, f.IssuedAt)
		if err != nil {
			reason := probes.SourceErrUnparseable
			if ce, ok := err.(*probes.CertError); ok {
				reason = ce.Reason
			}
			c.m.sourceErrors.WithLabelValues(s.name, reason).Inc()
			logger.Warn("certificate skipped", "id", f.ID, "reason", reason, "err", err)
			continue
		}
		if s.typ == config.SourceDir && ic.Provenance == probes.ProvenanceIssuedAt {
			ic.Provenance = probes.ProvenanceMtime
		}
		if ic.IssuedAt.Before(cutoff) {
			continue
		}
		c.m.discovered.WithLabelValues(s.name, ic.Kind).Inc()
		added, evicted := c.tracker.Add(ic)
		c.m.evicted.Add(float64(evicted))
		if added {
			logger.Debug("tracking certificate", "serial", ic.Serial.Text(16), "kind", ic.Kind, "issued_at", ic.IssuedAt)
		}
	}
}

func (c *canary) checkOrigin(ctx context.Context, o *originTarget, logger *slog.Logger) {
	now := time.Now()
	due := c.tracker.Due(o.idx, now, c.cfg.RecheckInterval.D())
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
			res := o.client.Check(reqCtx, c.issuers[d.Issuer], d.Serial, time.Now)
			cancel()
			// Cut short by the end of the pass or a reload, not by the origin:
			// asked again next pass.
			if ctx.Err() == nil {
				c.record(o, d, res, logger)
			}
		}()
	}
	wg.Wait()
	stats := c.tracker.Stats(o.idx, time.Now(), c.cfg.SLA.D(), c.compareWith(o))
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats, o.lastPass, o.passTook = stats, now, time.Since(now)
}

func (c *canary) compareWith(o *originTarget) []int {
	if o.cdn {
		return c.nonCDN
	}
	return nil
}

// answered: the origin sent an OCSP response, whatever its status.
func answered(result string) bool {
	switch result {
	case probes.ResultTransportError, probes.ResultTimeout, probes.ResultHTTPError, probes.ResultBadContentType:
		return false
	}
	return true
}

func (c *canary) record(o *originTarget, d probes.Due, res probes.OCSPResult, logger *slog.Logger) {
	c.m.responses.WithLabelValues(o.name, res.Result).Inc()
	c.m.duration.WithLabelValues(o.name).Observe(res.Duration.Seconds())
	if !probes.Authoritative(res.Result) && res.Cacheable {
		c.m.cacheableErrors.WithLabelValues(o.name, res.Result).Inc()
	}
	if took, first := c.tracker.Record(o.idx, d, res, time.Now()); first {
		c.m.timeToAuth.WithLabelValues(o.name).Observe(took.Seconds())
	}
	o.mu.Lock()
	o.probed, o.up, o.lastErr = true, answered(res.Result), res.Detail
	if o.up {
		o.lastAnswer = time.Now()
	}
	o.mu.Unlock()
	if !probes.Authoritative(res.Result) {
		logger.Debug("non-authoritative answer", "serial", d.Serial.Text(16), "result", res.Result, "detail", res.Detail)
	}
}

func (c *canary) collect(ch chan<- prometheus.Metric) {
	ch <- gauge(ocspTracked, float64(c.tracker.Len()))
	for _, s := range c.sources {
		s.mu.RLock()
		if s.health.probed {
			ch <- boolGauge(sourceUp, s.health.up, s.name)
		}
		s.health.collect(ch, probeSource, s.name)
		s.mu.RUnlock()
	}
	for _, o := range c.origins {
		o.mu.RLock()
		if !o.lastPass.IsZero() {
			st := o.stats
			for i, n := range []int{st.Pending, st.Authoritative, st.Overdue} {
				ch <- gauge(ocspCertificates, float64(n), o.name, ocspCertStates[i])
			}
			if !st.OldestThisUpdate.IsZero() {
				ch <- gauge(ocspOldestThis, unix(st.OldestThisUpdate), o.name)
				ch <- gauge(ocspNewestThis, unix(st.NewestThisUpdate), o.name)
				ch <- gauge(ocspEarliestNext, unix(st.EarliestNextUpdate), o.name)
				ch <- gauge(ocspLatestNext, unix(st.LatestNextUpdate), o.name)
			}
			if o.cdn {
				ch <- gauge(ocspCDNDisagree, float64(st.CDNWorseStatus), o.name, ocspDisagreeKinds[0])
				ch <- gauge(ocspCDNDisagree, float64(st.CDNOlderThisUpdate), o.name, ocspDisagreeKinds[1])
			}
		}
		if o.probed {
			ch <- boolGauge(ocspOriginUp, o.up, o.name)
		}
		o.mu.RUnlock()
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
