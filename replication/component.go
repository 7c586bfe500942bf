package replication

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// replication runs the primary loop and one loop per replica.
type replication struct {
	logger   *slog.Logger
	cfg      config.Replication
	primary  *primaryTarget // nil without a primary DSN
	replicas []*replicaTarget
}

type primaryTarget struct {
	probe *PrimaryProbe
	hist  *History
	key   string // identifies the primary across reloads

	mu     sync.RWMutex
	health target.Health
	status PrimaryStatus
}

type replicaTarget struct {
	name, slot string
	upstream   string // another replica's name; "" for the primary
	series     *replicaSeries
	probe      *ReplicaProbe
	hist       *History
	key        string

	mu     sync.RWMutex
	health target.Health
	view   ReplicaView
}

// targetKey identifies a target across reloads: one whose settings did not
// change keeps its connection, history, health and last values.
func targetKey(kind, name string, db config.Database, rc config.Replication, slot, upstream string) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", kind, name, db.DSN, db.PasswordFile, slot, upstream, rc.Timeout.D(), rc.History.D())
}

// newReplication builds the targets for cfg, reusing the unchanged ones of
// old (which may be nil).
func newReplication(cfg *config.Config, old *replication, logger *slog.Logger) *replication {
	rc := cfg.Replication
	r := &replication{cfg: rc, logger: logger}
	if cfg.Primary != nil {
		key := targetKey(probePrimary, "", *cfg.Primary, rc, "", "")
		if old != nil && old.primary != nil && old.primary.key == key {
			r.primary = old.primary
			r.primary.hist.Resize(rc.History.D(), rc.Interval.D())
		} else {
			r.primary = &primaryTarget{
				probe: NewPrimaryProbe(*cfg.Primary, rc.Timeout.D()),
				hist:  NewHistory(rc.History.D(), rc.Interval.D()), key: key, health: newHealth(),
			}
		}
	}
	for _, rep := range cfg.Replicas {
		key := targetKey(probeReplica, rep.Name, rep.Database, rc, rep.Slot, rep.Upstream)
		if t := old.replica(key); t != nil {
			t.hist.Resize(rc.History.D(), rc.Interval.D())
			r.replicas = append(r.replicas, t)
			continue
		}
		r.replicas = append(r.replicas, &replicaTarget{
			name: rep.Name, slot: rep.Slot, upstream: rep.Upstream, series: newReplicaSeries(rep.Name),
			probe: NewReplicaProbe(rep.Database, rc.Timeout.D()),
			hist:  NewHistory(rc.History.D(), rc.Interval.D()), key: key, health: newHealth(),
		})
	}
	return r
}

func (r *replication) replica(key string) *replicaTarget {
	if r == nil {
		return nil
	}
	for _, t := range r.replicas {
		if t.key == key {
			return t
		}
	}
	return nil
}

// Start implements exporter.Component.
func (r *replication) Start(ctx context.Context, wg *sync.WaitGroup) {
	logger := r.logger
	interval, timeout := r.cfg.Interval.D(), r.cfg.Timeout.D()
	if p := r.primary; p != nil {
		l := logger.With("probe", probePrimary)
		target.Every(ctx, wg, interval, timeout, l, func(ctx context.Context) { r.probePrimary(ctx, l) })
	}
	for _, t := range r.replicas {
		l := logger.With("probe", probeReplica, "replica", t.name)
		target.Every(ctx, wg, interval, timeout, l, func(ctx context.Context) { r.probeReplica(ctx, t, l) })
	}
}

// closeUnused closes the connections of targets that next does not reuse
// (next may be nil: close all).
func (r *replication) closeUnused(next *replication) {
	if r.primary != nil && (next == nil || next.primary != r.primary) {
		r.primary.probe.Close()
	}
	for _, t := range r.replicas {
		if next.replica(t.key) != t {
			t.probe.Close()
		}
	}
}

func (r *replication) probePrimary(ctx context.Context, logger *slog.Logger) {
	p := r.primary
	start := time.Now()
	st, err := p.probe.Probe(ctx)
	if err != nil && target.Cancelled(ctx) {
		return
	}
	if err == nil {
		p.hist.Add(start, st.FlushLSN)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	wasUp := p.health.Up || !p.health.Probed
	p.health.Record(start, err)
	if err != nil {
		if wasUp {
			logger.Warn("primary probe failed", "reason", pgconn.Reason(err), "err", p.health.LastError)
		}
		return
	}
	p.status = st
}

// primarySnapshot is the primary's last status while it is up.
func (r *replication) primarySnapshot() *PrimaryStatus {
	if r.primary == nil {
		return nil
	}
	r.primary.mu.RLock()
	defer r.primary.mu.RUnlock()
	if !r.primary.health.Up {
		return nil
	}
	st := r.primary.status
	return &st
}

// upstreamSnapshot is what t streams from, as of its last successful probe,
// with its position history: the primary's, or for a cascading replica its
// upstream replica's (nil while that one is down or not yet probed).
func (r *replication) upstreamSnapshot(t *replicaTarget) (*PrimaryStatus, *History) {
	if t.upstream == "" {
		if r.primary == nil {
			return nil, nil
		}
		return r.primarySnapshot(), r.primary.hist
	}
	for _, u := range r.replicas {
		if u.name != t.upstream {
			continue
		}
		u.mu.RLock()
		defer u.mu.RUnlock()
		if !u.health.Up {
			return nil, u.hist
		}
		up := u.view.Status.asUpstream()
		// A cascade restores from the same archive as the rest: the
		// primary's archiver tells whether it holds what the cascade needs.
		if p := r.primarySnapshot(); p != nil {
			up.Archiver = p.Archiver
		}
		return up, u.hist
	}
	return nil, nil
}

func (p *primaryTarget) probed() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.health.Probed
}

func (t *replicaTarget) probed() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.health.Probed
}

func (r *replication) probeReplica(ctx context.Context, t *replicaTarget, logger *slog.Logger) {
	start := time.Now()
	st, err := t.probe.Probe(ctx)
	if err != nil && target.Cancelled(ctx) {
		return
	}
	var view ReplicaView
	if err == nil {
		t.hist.Add(start, st.Position())
		up, upHist := r.upstreamSnapshot(t)
		view = Derive(DeriveInput{
			Name: t.name, Replica: st, Primary: up,
			PrimaryHistory: upHist, ReplicaHistory: t.hist,
			Slot: t.slot, RateWindow: r.cfg.RateWindow.D(), Now: start,
		})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	wasUp := t.health.Up || !t.health.Probed
	t.health.Record(start, err)
	if err != nil {
		if wasUp {
			logger.Warn("replica probe failed", "reason", pgconn.Reason(err), "err", t.health.LastError)
		}
		return
	}
	if !wasUp {
		logger.Info("replica probe recovered")
	}
	t.view = view
}

// Collect implements exporter.Component.
func (r *replication) Collect(ch chan<- prometheus.Metric) {
	// A target not yet probed is absent rather than down: a start or a
	// reload must not look like an outage.
	if p := r.primary; p != nil && p.probed() {
		p.mu.RLock()
		ch <- target.BoolGauge(primaryUp, p.health.Up)
		if p.health.Up {
			collectPrimary(ch, p.status, p.hist, r.cfg.RateWindow.D())
		}
		p.health.Collect(ch, probePrimary, "primary")
		p.mu.RUnlock()
	}
	for _, t := range r.replicas {
		if !t.probed() {
			continue
		}
		se := t.series
		if se == nil { // a target built without newReplication (tests)
			se = newReplicaSeries(t.name)
		}
		t.mu.RLock()
		ch <- se.up.Bool(t.health.Up)
		if t.health.Up {
			collectReplica(ch, se, t.view)
		}
		t.health.Collect(ch, probeReplica, t.name)
		t.mu.RUnlock()
	}
}
