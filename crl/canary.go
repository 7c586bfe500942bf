package crl

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Canary checks every shard at every origin each interval and keeps the
// latest outcome as a snapshot that a scrape reads without waiting.
type Canary struct {
	cfg     config.CRL
	client  *http.Client
	marks   Marks
	source  RevocationSource // nil without crl.revocations
	metrics *Metrics
	logger  *slog.Logger
	now     func() time.Time
	parsing chan struct{} // one parse at a time
	ocspCfg []config.Origin
	ocsp    *ocspCross // nil without OCSP origins or a revocation source

	mu      sync.RWMutex
	targets map[markKey]*targetState
	record  map[string]Revocation // the last record read, by SerialKey
	src     target.Health
	// listShards are those of the shard list fetched by URL; list is its
	// fetch health.
	listShards []config.Shard
	list       target.Health
	// overdue is, per origin, the serials last seen overdue there, so that
	// one line is logged when one becomes overdue and one when it is listed.
	overdue map[string]map[string]bool
	snap    snapshot
}

// targetState is one shard at one origin.
type targetState struct {
	shard, origin string
	cdn           bool
	validators    validators
	view          *View // the last CRL whose content can be used; nil before one
	verdict       bodyVerdict
	result        Result
	err           string
	checkedAt     time.Time
	lastSuccess   time.Time
	duration      time.Duration
}

// Options are what a Canary needs besides its config.
type Options struct {
	Marks   Marks            // nil: in memory
	Source  RevocationSource // nil: from cfg.Revocations, if set
	Metrics *Metrics         // long-lived counters; nil: fresh ones
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now
	// OCSPOrigins, with a revocation source, are asked whether each
	// revocation is answered "revoked" there (the ocsp section's origins).
	OCSPOrigins []config.Origin
}

// NewCanary returns a canary for cfg; nothing runs until Start.
func NewCanary(cfg config.CRL, o Options) *Canary {
	c := &Canary{cfg: cfg, marks: o.Marks, source: o.Source, metrics: o.Metrics, logger: o.Logger, now: o.Now,
		targets: map[markKey]*targetState{}, record: map[string]Revocation{}, overdue: map[string]map[string]bool{}, parsing: make(chan struct{}, 1),
		src: target.NewHealth(target.Classifier{Reasons: pgconn.FailureReasons(), ReasonOf: pgconn.Reason}), list: listHealth()}
	if c.marks == nil {
		c.marks = NewMemoryMarks()
	}
	if c.source == nil && cfg.Revocations != nil {
		c.source = NewSQLRevocations(*cfg.Revocations, cfg.Timeout.D())
	}
	if c.metrics == nil {
		c.metrics = NewMetrics()
	}
	if c.source != nil {
		c.ocspCfg = o.OCSPOrigins
		issuers := cfg.Shards
		if l := cfg.ShardList; l != nil && l.IssuerCert != nil {
			issuers = append(append([]config.Shard(nil), issuers...), config.Shard{IssuerCert: l.IssuerCert})
		}
		c.ocsp = newOCSPCross(o.OCSPOrigins, issuers)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.client = newClient()
	for _, s := range cfg.Shards {
		c.addTargets(s)
	}
	return c
}

func (c *Canary) listByURL() bool { return c.cfg.ShardList != nil && c.cfg.ShardList.URL != "" }

// Start runs a pass at once and then every interval until ctx ends.
func (c *Canary) Start(ctx context.Context, wg *sync.WaitGroup) {
	// A pass fetches shards one after another per origin, each bounded by
	// the origin's timeout; the pass as a whole is bounded by that sum.
	target.Every(ctx, wg, c.cfg.Interval.D(), c.passTimeout(), c.logger, c.Pass)
}

// Close releases the revocation source's connection; loops must be stopped.
// Nothing of a canary is reused by the next one but the domain's marks.
func (c *Canary) Close(exporter.Component) {
	if c.source != nil {
		c.source.Close()
	}
}

func (c *Canary) passTimeout() time.Duration {
	longest := c.cfg.Timeout.D()
	for _, o := range c.cfg.Origins {
		longest = max(longest, o.Timeout.D())
	}
	shards := len(c.cfg.Shards)
	if c.listByURL() {
		shards += maxListShards + 1
	}
	pass := longest * time.Duration(shards)
	if c.ocsp != nil {
		for _, o := range c.ocsp.origins {
			rounds := maxOCSPPerPass/max(1, o.cfg.Concurrency) + 1
			pass = max(pass, c.cfg.Timeout.D()+time.Duration(rounds)*o.cfg.Timeout.D())
		}
	}
	return pass + time.Second
}

// recordList is the revocation record as a slice.
func (c *Canary) recordList() []Revocation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Revocation, 0, len(c.record))
	for _, r := range c.record {
		out = append(out, r)
	}
	return out
}

// Pass checks everything once: the revocation record and every shard at
// every origin, concurrently per origin, then recomputes the snapshot.
func (c *Canary) Pass(ctx context.Context) {
	if c.listByURL() {
		c.refreshList(ctx)
	}
	c.mu.RLock()
	shards := c.shards()
	c.mu.RUnlock()
	var wg sync.WaitGroup
	if c.source != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readRecord(ctx)
			if c.ocsp != nil && ctx.Err() == nil {
				c.ocsp.check(ctx, c.recordList(), c.now)
			}
		}()
	}
	for _, o := range c.cfg.Origins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range shards {
				if ctx.Err() != nil {
					return
				}
				c.checkOne(ctx, s, o, len(shards) > 1)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // a cancelled pass is not a result
	}
	c.mu.Lock()
	c.snap = c.summarize(c.now())
	c.mu.Unlock()
}

func (c *Canary) readRecord(ctx context.Context) {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout.D())
	defer cancel()
	revs, err := c.source.Revocations(rctx)
	if target.Cancelled(ctx) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.src.Record(start, err)
	if err != nil {
		// The last record stays: revocations do not vanish because the
		// database is unreachable.
		c.logger.Warn("CRL revocation source failed", "err", c.src.LastError)
		return
	}
	record := make(map[string]Revocation, len(revs))
	for _, r := range revs {
		record[SerialKey(r.Serial)] = r
	}
	c.record = record
}

func (c *Canary) checkOne(ctx context.Context, s config.Shard, o config.CRLOrigin, partitioned bool) {
	key := markKey{s.Name, o.Name}
	c.mu.RLock()
	t, ok := c.targets[key]
	var st targetState
	if ok {
		st = *t
	}
	c.mu.RUnlock()
	if !ok {
		return // dropped from the shard list meanwhile
	}

	fctx, cancel := context.WithTimeout(ctx, o.Timeout.D())
	f := fetch(fctx, c.client, RequestURL(o, s), requestHost(o, s), st.validators, c.cfg.MaxSize)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := c.now()
	res, err := f.Result, f.Err
	view, verdict := st.view, st.verdict
	var bodyHash [sha256.Size]byte
	if res == ResultOK && !f.NotModified {
		bodyHash = sha256.Sum256(f.Body)
	}
	switch {
	case res != ResultOK:
	case f.NotModified || (bodyHash == verdict.bodyHash && verdict.checked):
		// The body checked last time: the same verdict, re-timed. An
		// origin without ETag support costs a hash here, not a parse.
		res, err = verdict.again(view, now)
	default:
		exp := Expect{Issuer: s.IssuerCert, URL: s.URL, Partitioned: partitioned, Last: c.marks.Mark(s.Name, o.Name)}
		var v *View
		if v, res, err = c.check(ctx, f.Body, exp, now); ctx.Err() != nil {
			return
		}
		verdict = bodyVerdict{checked: true, bodyHash: bodyHash, result: res, err: errText(err)}
		if v != nil && res.usable() {
			c.noteRemovals(st.view, v, o.Name, now)
			view = v
			if res != ResultThisUpdateFuture {
				c.marks.SetMark(s.Name, o.Name, exp.Last.Advance(v))
			}
		}
	}
	if res == ResultOK && f.Duration > SlowFetch {
		res = ResultSlow
	}
	c.metrics.checks.WithLabelValues(s.Name, o.Name, res.String()).Inc()

	c.mu.Lock()
	defer c.mu.Unlock()
	if t = c.targets[key]; t == nil {
		return
	}
	t.result, t.checkedAt, t.duration, t.view, t.verdict = res, now, f.Duration, view, verdict
	t.err = errText(err)
	if f.Result == ResultOK {
		t.validators = f.Validators
	}
	if res == ResultOK {
		t.lastSuccess = now
	}
	// One line per change of verdict, not per check.
	switch {
	case res == st.result:
	case res == ResultOK:
		c.logger.Info("CRL check passes again", "shard", s.Name, "origin", o.Name, "was", st.result.String())
	default:
		c.logger.Warn("CRL check failed", "shard", s.Name, "origin", o.Name, "result", res.String(), "err", t.err)
	}
}

func (c *Canary) noteRemovals(prev, cur *View, origin string, now time.Time) {
	c.mu.RLock()
	n := earlyRemovals(prev, cur, c.record, now)
	c.mu.RUnlock()
	if n > 0 {
		c.metrics.earlyRemovals.WithLabelValues(origin).Add(float64(n))
	}
}
