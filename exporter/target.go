package exporter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/probes"
)

// health is what every target keeps about its own probing.
type health struct {
	probed      bool // at least one probe has finished
	up          bool
	lastSuccess time.Time
	lastError   string // scrubbed
	duration    time.Duration
	failures    map[string]float64
}

func newHealth() health {
	h := health{failures: map[string]float64{}}
	for _, r := range probes.FailureReasons {
		h.failures[r] = 0
	}
	return h
}

func (h *health) record(start time.Time, err error) {
	h.probed = true
	h.duration = time.Since(start)
	if err != nil {
		h.up = false
		h.lastError = config.Scrub(err.Error())
		h.failures[probes.Reason(err)]++
		return
	}
	h.up = true
	h.lastSuccess = time.Now()
	h.lastError = ""
}

func (h *health) collect(ch chan<- prometheus.Metric, probe, target string) {
	if !h.lastSuccess.IsZero() {
		ch <- gauge(probeLastSuccess, float64(h.lastSuccess.UnixNano())/1e9, probe, target)
	}
	if h.probed {
		ch <- gauge(probeDuration, h.duration.Seconds(), probe, target)
	}
	for _, r := range probes.FailureReasons {
		ch <- prometheus.MustNewConstMetric(probeFailures, prometheus.CounterValue, h.failures[r], probe, target, r)
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolGauge(d *prometheus.Desc, b bool, labels ...string) prometheus.Metric {
	v := 0.0
	if b {
		v = 1
	}
	return gauge(d, v, labels...)
}

// cancelled reports whether the loop itself was stopped (reload, shutdown):
// a call cut short by us says nothing about the target, so it is not recorded.
// A run's own timeout is DeadlineExceeded, not Canceled, and is recorded.
func cancelled(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// every runs fn now and then at each interval until ctx ends. Each run gets
// its own deadline, so one hung target never stalls another loop.
func every(ctx context.Context, wg *sync.WaitGroup, interval, timeout time.Duration, logger *slog.Logger, fn func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			runCtx, cancel := context.WithTimeout(ctx, timeout)
			fn(runCtx)
			cancel()
			select {
			case <-ctx.Done():
				logger.Debug("loop stopped")
				return
			case <-t.C:
			}
		}
	}()
}
