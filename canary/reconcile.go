package canary

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/internal/view"
)

var (
	inventoryMissing = target.Desc("inventory_missing_certificates",
		"Certificates in this CT source's log that no inventory source has, inventory_grace after the log was read.", "source", "kind")
	ctUnlogged = target.Desc("ct_unlogged_certificates",
		"Certificates in this inventory source that no CT source has, ct_grace after the inventory had them.", "source", "kind")
)

// reconciler compares what CT logs and the CA's inventory sources found.
// It runs only when at least one source is marked inventory.
type reconciler struct {
	cfg     config.OCSP
	tracker *Tracker
	// upTo tells how far every inventory source has been read.
	upTo    func() time.Time
	ct, inv []int // positions + 1 of the CT and the inventory sources
	names   []string

	mu   sync.RWMutex
	last *Reconciliation // nil before the first pass
}

func newReconciler(cfg config.OCSP, tr *Tracker) *reconciler {
	r := &reconciler{cfg: cfg, tracker: tr}
	for i, s := range cfg.Sources {
		r.names = append(r.names, s.Name)
		switch {
		case s.Type == config.SourceCT:
			r.ct = append(r.ct, i+1)
		case s.Inventory:
			r.inv = append(r.inv, i+1)
		}
	}
	if len(r.inv) == 0 {
		return nil
	}
	return r
}

// role says which part the source at pos plays in reconciliation.
func role(s config.Source, pos int) Sighting {
	var w Sighting
	if s.Type == config.SourceCT {
		w.CT = pos + 1
	}
	if s.Inventory {
		w.Inventory = pos + 1
	}
	return w
}

func (r *reconciler) start(ctx context.Context, wg *sync.WaitGroup, logger *slog.Logger) {
	if r == nil {
		return
	}
	l := logger.With("probe", "reconcile")
	target.Every(ctx, wg, r.cfg.Interval.D(), r.cfg.Interval.D(), l, func(context.Context) { r.pass(l) })
}

func (r *reconciler) pass(logger *slog.Logger) {
	rec := r.tracker.Reconcile(time.Now(), r.upTo(), r.cfg.InventoryGrace.D(), r.cfg.CTGrace.D(), len(r.ct) > 0)
	for i, d := range rec.Found {
		if i == maxTransitionLines {
			logger.Warn("more discrepancies found this pass than are logged one by one; see /status",
				"not_logged", len(rec.Found)-i)
			break
		}
		args := []any{"serial", view.SerialHex(d.Serial), "kind", d.Kind, "source", r.names[d.Source-1]}
		if d.Missing {
			logger.Error("certificate in a CT log but missing from the CA's inventory", args...)
		} else {
			logger.Warn("certificate in the CA's inventory but in no CT log", args...)
		}
	}
	r.mu.Lock()
	r.last = &rec
	r.mu.Unlock()
}

func (r *reconciler) collect(ch chan<- prometheus.Metric) {
	if r == nil {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.last == nil {
		return
	}
	for _, pos := range r.ct {
		for _, kind := range CertKinds() {
			ch <- target.Gauge(inventoryMissing, float64(r.last.Missing[SourceKind{pos, kind}]), r.names[pos-1], kind)
		}
	}
	if len(r.ct) == 0 {
		return
	}
	for _, pos := range r.inv {
		for _, kind := range CertKinds() {
			ch <- target.Gauge(ctUnlogged, float64(r.last.Unlogged[SourceKind{pos, kind}]), r.names[pos-1], kind)
		}
	}
}
