package exporter

// The incident view's data from today's components. When the layout moves
// replication and canary into their own packages, these methods move with
// them (replication/view.go, canary/view.go).

import (
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/view"
)

// viewState is what the incident view needs from the exporter right now.
func (e *Exporter) viewState() viewState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	st := viewState{link: e.certLink, reloadAt: e.reloadAt, reloadOK: e.reloadOK, targets: e.statusRows(),
		web: config.Web{Refresh: config.Duration(config.DefaultWebRefresh), PageSize: config.DefaultWebPageSize}}
	if e.cfg != nil {
		st.web = e.cfg.Web
	}
	// The components lock their own state; the listers only copy it.
	if e.repl != nil {
		st.components = append(st.components, e.repl)
	}
	if e.canary != nil {
		st.components = append(st.components, e.canary)
	}
	return st
}

// Replicas implements view.ReplicaLister.
func (r *replication) Replicas() []view.Replica {
	out := make([]view.Replica, 0, len(r.replicas))
	for _, t := range r.replicas {
		t.mu.RLock()
		v := t.view
		rep := view.Replica{Name: t.name, Up: t.health.up, LastSuccess: t.health.lastSuccess, Error: t.health.lastError}
		if t.health.up {
			rep.Streaming, rep.ReplayPaused = v.Status.Streaming(), v.Status.ReplayPaused
			rep.HasPrimary, rep.ReceiveLagBytes, rep.ReplayLagBytes = v.HasPrimary, v.ReceiveLagBytes, v.ReplayLagBytes
			rep.ReplayLagSeconds = v.ReplayLagSeconds
			rep.HasHeadroom, rep.HeadroomBytes, rep.WALLost = v.HasHeadroom, v.HeadroomBytes, v.WALLost
			rep.HasETA, rep.ETASeconds = v.HasETA, v.ETASeconds
		}
		t.mu.RUnlock()
		if !t.probed() {
			rep.Error = "not probed yet"
		}
		out = append(out, rep)
	}
	return out
}

// Origins implements view.OriginLister.
func (c *canary) Origins() []view.Origin {
	out := make([]view.Origin, 0, len(c.origins))
	for _, o := range c.origins {
		o.mu.RLock()
		out = append(out, view.Origin{Name: o.name, CDN: o.cdn, Probed: o.probed, Up: o.up, LastPass: o.lastPass,
			LastError: o.lastErr, Pending: o.stats.Pending, Authoritative: o.stats.Authoritative, Overdue: o.stats.Overdue})
		o.mu.RUnlock()
	}
	return out
}

// Sources implements view.SourceLister.
func (c *canary) Sources() []view.Source {
	out := make([]view.Source, 0, len(c.sources))
	for _, s := range c.sources {
		s.mu.RLock()
		out = append(out, view.Source{Name: s.name, Type: s.typ, Probed: s.health.probed, Up: s.health.up,
			LastSuccess: s.health.lastSuccess, Error: s.health.lastError})
		s.mu.RUnlock()
	}
	return out
}

// Certificates implements view.CertificateLister.
func (c *canary) Certificates(q view.CertificateQuery) view.CertificatePage {
	origins := make([]string, len(c.origins))
	for i, o := range c.origins {
		origins[i] = o.name
	}
	issuers := make([]string, len(c.issuers))
	for i, is := range c.issuers {
		issuers[i] = is.Cert.Subject.String()
	}
	return c.tracker.Certificates(q, time.Now(), c.cfg.SLA.D(), origins, issuers)
}
