package canary

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

const probeCompliance = "compliance"

// compliance runs the compliance checks against each origin that has not
// opted out, every compliance_interval, one request at a time per origin.
type compliance struct {
	interval time.Duration
	// limit bounds each answer: BR 4.10.2's ten seconds.
	limit   time.Duration
	issuers []*ocsp.Issuer
	tracker *Tracker
	m       *complianceMetrics
	origins []*complianceOrigin
}

type complianceOrigin struct {
	idx    int // the origin's index in the tracker
	name   string
	method string
	client *ocsp.Client

	mu        sync.RWMutex
	last      [checkCount]checkState
	lastRound time.Time
	took      time.Duration
	// lastClean is the start of the last round every check passed.
	lastClean time.Time
}

// checkState is a check's outcome in the last round that ran it: the first
// failing answer, else the last one.
type checkState struct {
	ran      bool
	result   ocsp.Result
	passed   bool
	duration time.Duration
	detail   string
}

func newCompliance(o config.OCSP, issuers []*ocsp.Issuer, tracker *Tracker, m *complianceMetrics) *compliance {
	c := &compliance{interval: o.ComplianceInterval.D(), limit: config.ComplianceAnswerLimit, issuers: issuers, tracker: tracker, m: m}
	var enabled, disabled []string
	for i, og := range o.Origins {
		if !og.ComplianceEnabled() {
			disabled = append(disabled, og.Name)
			continue
		}
		enabled = append(enabled, og.Name)
		limit := config.ComplianceAnswerLimit
		transport := &http.Transport{
			DialContext:           (&net.Dialer{Timeout: limit}).DialContext,
			MaxConnsPerHost:       1,
			IdleConnTimeout:       time.Minute,
			ResponseHeaderTimeout: limit,
			DisableCompression:    true,
		}
		c.origins = append(c.origins, &complianceOrigin{idx: i, name: og.Name, method: og.Method,
			client: &ocsp.Client{URL: og.URL, Host: og.Host, Method: og.Method,
				HTTP: &http.Client{Transport: transport, Timeout: limit,
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}})
	}
	m.initLabels(enabled, disabled)
	return c
}

func (c *compliance) start(ctx context.Context, wg *sync.WaitGroup, logger *slog.Logger) {
	for _, o := range c.origins {
		l := logger.With("probe", probeCompliance, "origin", o.name)
		target.Every(ctx, wg, c.interval, c.interval, l, func(ctx context.Context) { c.round(ctx, o, l) })
	}
}

func (c *compliance) close() {
	for _, o := range c.origins {
		o.client.HTTP.CloseIdleConnections()
	}
}

// round asks origin o every check once. A request cut short by the round's
// end or a reload is not the origin's answer and is not recorded.
func (c *compliance) round(ctx context.Context, o *complianceOrigin, logger *slog.Logger) {
	start := time.Now()
	p := makePlan(c.issuers, c.tracker.ComplianceSample(o.idx, len(c.issuers), goodSampleLimit), rand.Reader)
	var states [checkCount]checkState
	for _, chk := range Checks() {
		for _, pt := range p[chk] {
			reqCtx, cancel := context.WithTimeout(ctx, c.limit)
			res := o.client.CheckVariant(reqCtx, c.issuers[pt.issuer], pt.serial, chk.variant(o.method), time.Now)
			cancel()
			if ctx.Err() != nil {
				return
			}
			c.m.checks.WithLabelValues(o.name, chk.String(), res.Result.String()).Inc()
			passed := chk.Passed(res.Result, pt.known)
			if st := &states[chk]; !st.ran || st.passed {
				*st = checkState{ran: true, result: res.Result, passed: passed, duration: res.Duration, detail: res.Detail}
			}
			if !passed {
				logger.Debug("compliance check failed", "check", chk, "serial", pt.serial.Text(16),
					"known", pt.known, "result", res.Result, "detail", res.Detail)
			}
		}
	}
	o.mu.Lock()
	prev := o.last
	o.last, o.lastRound, o.took = states, start, time.Since(start)
	if allPassed(states) {
		o.lastClean = start
	}
	o.mu.Unlock()
	for _, chk := range Checks() {
		logChange(logger, chk, prev[chk], states[chk])
	}
}

func allPassed(states [checkCount]checkState) bool {
	for _, st := range states {
		if st.ran && !st.passed {
			return false
		}
	}
	return true
}

// logChange writes one line when a check starts or stops failing.
func logChange(logger *slog.Logger, chk Check, prev, cur checkState) {
	switch {
	case cur.ran && !cur.passed && (!prev.ran || prev.passed):
		logger.Warn("compliance check failing", "check", chk, "result", cur.result, "detail", cur.detail)
	case cur.ran && cur.passed && prev.ran && !prev.passed:
		logger.Info("compliance check passing again", "check", chk, "result", cur.result)
	}
}

func (c *compliance) collect(ch chan<- prometheus.Metric) {
	for _, o := range c.origins {
		o.mu.RLock()
		for _, chk := range Checks() {
			st := o.last[chk]
			if !st.ran {
				continue
			}
			ch <- target.Gauge(complianceLastResult, 1, o.name, chk.String(), st.result.String())
			ch <- target.BoolGauge(compliancePassed, st.passed, o.name, chk.String())
			ch <- target.Gauge(complianceDuration, st.duration.Seconds(), o.name, chk.String())
		}
		o.mu.RUnlock()
	}
}

// rows are the status page's: one per origin, failing checks first.
func (c *compliance) rows() []target.Row {
	var rows []target.Row
	for _, o := range c.origins {
		o.mu.RLock()
		var failing, skipped []string
		passed := 0
		for _, chk := range Checks() {
			switch st := o.last[chk]; {
			case !st.ran:
				skipped = append(skipped, chk.String())
			case st.passed:
				passed++
			default:
				failing = append(failing, fmt.Sprintf("%s: %s (%s)", chk, st.result, st.detail))
			}
		}
		probed := !o.lastRound.IsZero()
		summary := fmt.Sprintf("%d of %d checks passed", passed, checkCount)
		if len(skipped) > 0 && probed {
			summary += "; skipped (no suitable certificate yet): " + strings.Join(skipped, ", ")
		}
		rows = append(rows, target.Row{Probe: probeCompliance, Target: o.name, Probed: probed,
			Up: probed && len(failing) == 0, LastSuccess: o.lastClean, LastProbe: o.lastRound, Duration: o.took,
			Summary: summary, Error: strings.Join(failing, "; ")})
		o.mu.RUnlock()
	}
	return rows
}
