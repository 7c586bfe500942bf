package exporter

import (
	"cmp"
	"log/slog"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/internal/view"
)

// viewState is the exporter's part of the incident view at one moment.
type viewState struct {
	components []any // running components; those offering a view implement internal/view's listers
	web        config.Web
	link       *template.Template
	reloadAt   time.Time
	reloadOK   bool
	targets    []target.Row
}

// incidentView serves /status and /api/v1 from state, called per request.
type incidentView struct {
	state  func() viewState
	logger *slog.Logger
}

// incident is what the incident view shows besides certificates, gathered
// from the components that offer it, worst first.
type incident struct {
	Replicas []view.Replica
	Origins  []view.Origin
	Sources  []view.Source
}

// gatherIncident asks every component for its part. Components that offer
// nothing are skipped; the calls copy snapshots and never do I/O.
func gatherIncident(components []any) incident {
	var in incident
	for _, c := range components {
		if l, ok := c.(view.ReplicaLister); ok {
			in.Replicas = append(in.Replicas, l.Replicas()...)
		}
		if l, ok := c.(view.OriginLister); ok {
			in.Origins = append(in.Origins, l.Origins()...)
		}
		if l, ok := c.(view.SourceLister); ok {
			in.Sources = append(in.Sources, l.Sources()...)
		}
	}
	slices.SortStableFunc(in.Replicas, compareReplicas)
	slices.SortStableFunc(in.Origins, compareOrigins)
	slices.SortStableFunc(in.Sources, func(a, b view.Source) int {
		return cmp.Or(cmpBool(a.Up || !a.Probed, b.Up || !b.Probed), cmp.Compare(a.Name, b.Name))
	})
	// Components scrub already; the page is one more place a DSN must not reach.
	for i := range in.Replicas {
		in.Replicas[i].LastError = config.Scrub(in.Replicas[i].LastError)
	}
	for i := range in.Origins {
		in.Origins[i].LastError = config.Scrub(in.Origins[i].LastError)
	}
	for i := range in.Sources {
		in.Sources[i].LastError = config.Scrub(in.Sources[i].LastError)
	}
	return in
}

func certListers(components []any) []view.CertificateLister {
	var ls []view.CertificateLister
	for _, c := range components {
		if l, ok := c.(view.CertificateLister); ok {
			ls = append(ls, l)
		}
	}
	return ls
}

// certificatePage merges the listers' pages. With one lister (the usual
// case) it is asked for exactly the page; with several, each is asked for
// everything up to the page's end, which stays bounded by offset+limit.
func certificatePage(ls []view.CertificateLister, q view.CertificateQuery) ([]view.Certificate, int) {
	switch len(ls) {
	case 0:
		return nil, 0
	case 1:
		return ls[0].Certificates(q)
	}
	var all []view.Certificate
	total := 0
	upTo := q
	upTo.Offset, upTo.Limit = 0, q.Offset+q.Limit
	for _, l := range ls {
		p, n := l.Certificates(upTo)
		total += n
		all = append(all, p...)
	}
	slices.SortStableFunc(all, view.Compare)
	lo, hi := min(q.Offset, len(all)), min(q.Offset+q.Limit, len(all))
	return all[lo:hi], total
}

// replicaSeverity: lower is worse. Lost WAL needs a rebuild; a replica we
// cannot query is blind; one not streaming or paused falls behind.
func replicaSeverity(r view.Replica) int {
	switch {
	case r.WALLost:
		return 0
	case !r.Up:
		return 1
	case !r.Streaming || r.ReplayPaused:
		return 2
	}
	return 3
}

func eta(r view.Replica) float64 {
	if r.LossETASecs == nil {
		return math.Inf(1)
	}
	return *r.LossETASecs
}

// compareReplicas orders worst first: severity, soonest WAL loss, most lag.
func compareReplicas(a, b view.Replica) int {
	return cmp.Or(
		cmp.Compare(replicaSeverity(a), replicaSeverity(b)),
		cmp.Compare(eta(a), eta(b)),
		cmp.Compare(b.ReplayLagSecs, a.ReplayLagSecs),
		cmp.Compare(a.Name, b.Name),
	)
}

// compareOrigins orders worst first: not answering, most overdue, most pending.
func compareOrigins(a, b view.Origin) int {
	return cmp.Or(
		cmpBool(a.Up || !a.Probed, b.Up || !b.Probed),
		cmp.Compare(b.Overdue, a.Overdue),
		cmp.Compare(b.Pending, a.Pending),
		cmp.Compare(a.Name, b.Name),
	)
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// certificateLink renders web.certificate_link for c ("" without one, or
// if it fails: a link is a convenience, never a reason to hide the row).
func certificateLink(t *template.Template, c view.Certificate) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	if err := t.Execute(&b, config.NewCertificateLinkData(c.Serial, c.Issuer, c.Kind)); err != nil {
		return ""
	}
	return b.String()
}
