package canary

import (
	"strings"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// Origins implements view.OriginLister.
func (c *canary) Origins() []view.Origin {
	out := make([]view.Origin, 0, len(c.origins))
	for _, o := range c.origins {
		o.mu.RLock()
		out = append(out, view.Origin{Name: o.name, CDN: o.cdn, Probed: o.probed, Up: o.up, LastAnswer: o.lastAnswer,
			LastPass: o.lastPass, LastError: o.lastErr,
			Pending: o.stats.Pending, Authoritative: o.stats.Authoritative, Overdue: o.stats.Overdue})
		o.mu.RUnlock()
	}
	return out
}

// Sources implements view.SourceLister.
func (c *canary) Sources() []view.Source {
	out := make([]view.Source, 0, len(c.sources))
	for _, s := range c.sources {
		s.mu.RLock()
		v := view.Source{Name: s.name, Type: s.typ, Probed: s.health.Probed, Up: s.health.Up,
			LastSuccess: s.health.LastSuccess, LastError: s.health.LastError}
		// An sql or dir source has no head to lag behind; its read position
		// and how recent its newest certificate is tell whether issuance
		// still reaches it.
		var pos []string
		if !s.mark.IsZero() {
			pos = append(pos, "read up to issued_at "+s.mark.UTC().Format(time.RFC3339Nano))
		}
		if !s.newest.IsZero() {
			pos = append(pos, "newest certificate published "+s.newest.UTC().Format(time.RFC3339))
		}
		v.Position = strings.Join(pos, "; ")
		out = append(out, v)
		s.mu.RUnlock()
	}
	return out
}

// Certificates implements view.CertificateLister over the tracker.
func (c *canary) Certificates(q view.CertificateQuery) ([]view.Certificate, int) {
	origins := make([]string, len(c.origins))
	for i, o := range c.origins {
		origins[i] = o.name
	}
	issuers := make([]string, len(c.issuers))
	for i, is := range c.issuers {
		issuers[i] = is.Cert.Subject.String()
	}
	sources := make([]string, len(c.cfg.Sources))
	for i, s := range c.cfg.Sources {
		sources[i] = s.Name
	}
	return c.tracker.Certificates(q, time.Now(), c.cfg.SLA.D(), origins, issuers, sources...)
}
