// Package view holds the plain data the incident view (/status and
// /api/v1) shows, and the optional interfaces through which a domain's
// component offers it. Values are copies: the exporter renders them without
// holding any component's lock.
package view

import (
	"math/big"
	"time"
)

// Replica is one replica's replication state.
type Replica struct {
	Name         string
	Up           bool      // the exporter can query it
	LastSuccess  time.Time // zero: never
	Error        string    // last probe error, scrubbed of secrets
	Streaming    bool
	ReplayPaused bool
	// HasPrimary: the lag in bytes was measured against the primary.
	HasPrimary       bool
	ReceiveLagBytes  uint64
	ReplayLagBytes   uint64
	ReplayLagSeconds float64
	// HasHeadroom: WAL headroom and loss are known.
	HasHeadroom   bool
	HeadroomBytes float64 // +Inf: a slot with unlimited retention
	WALLost       bool
	// HasETA: both WAL rates are measured.
	HasETA     bool
	ETASeconds float64 // +Inf: the gap is not growing
}

// Origin is one OCSP origin (or the CDN) after its last pass.
type Origin struct {
	Name   string
	CDN    bool
	Probed bool // at least one answer (or failure) recorded
	Up     bool // the last request got an OCSP response of any status
	// LastPass is when the last pass over the due certificates began; a pass
	// says nothing about success (see Up and LastError).
	LastPass                        time.Time
	LastError                       string
	Pending, Authoritative, Overdue int
}

// Source is one certificate source.
type Source struct {
	Name, Type  string
	Probed, Up  bool
	LastSuccess time.Time
	Error       string
	// Position is how far the source has been read (a CT index, an
	// issued_at), Lag how far behind its head that is; "" when not known.
	Position, Lag string
}

// State is a certificate's state at one origin.
type State uint8

// States, worst last so that a larger value is worse.
const (
	Authoritative State = iota // latest answer good or revoked
	Pending                    // not yet, still within the SLA
	Overdue                    // not authoritative and older than the SLA
)

func (s State) String() string {
	switch s {
	case Authoritative:
		return "authoritative"
	case Pending:
		return "pending"
	case Overdue:
		return "overdue"
	}
	return "unknown"
}

// States lists every state, best first.
func States() []State { return []State{Authoritative, Pending, Overdue} }

// ParseState reads a state's name.
func ParseState(s string) (State, bool) {
	for _, st := range States() {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

// OriginAnswer is what one origin last said about a certificate.
type OriginAnswer struct {
	Origin string
	State  State
	Result string    // the ocsp_responses_total result; "" before the first request
	Since  time.Time // since when this origin has given this result
	// LastCheck is when it was last asked; zero: not yet.
	LastCheck time.Time
}

// Certificate is one tracked certificate and every origin's answer.
type Certificate struct {
	Serial      *big.Int
	Kind        string // certificate or precertificate
	Issuer      string // the issuer's subject
	PublishedAt time.Time
	// Provenance says which clock PublishedAt came from (ct, sct,
	// issued_at, mtime, first_seen, not_before).
	Provenance string
	Origins    []OriginAnswer
}

// Worst is the certificate's worst state over its origins.
func (c Certificate) Worst() State {
	w := Authoritative
	for _, o := range c.Origins {
		w = max(w, o.State)
	}
	return w
}

// CertificateQuery selects certificates whose state at some origin is one
// of States (all when empty), worst first, then oldest published first.
type CertificateQuery struct {
	States        []State
	Offset, Limit int
}

// Matches reports whether c belongs in the query's result.
func (q CertificateQuery) Matches(c Certificate) bool {
	if len(q.States) == 0 {
		return true
	}
	for _, o := range c.Origins {
		for _, s := range q.States {
			if o.State == s {
				return true
			}
		}
	}
	return false
}

// CertificatePage is one page of a query and how many matched in all.
type CertificatePage struct {
	Certificates []Certificate
	Total        int
}

// ReplicaLister is implemented by components that watch replicas.
type ReplicaLister interface{ Replicas() []Replica }

// OriginLister is implemented by components that ask OCSP origins.
type OriginLister interface{ Origins() []Origin }

// SourceLister is implemented by components that read certificate sources.
type SourceLister interface{ Sources() []Source }

// CertificateLister is implemented by components that track certificates.
// It copies only the requested page, so a large tracker costs the caller
// no more than Limit certificates.
type CertificateLister interface {
	Certificates(q CertificateQuery) CertificatePage
}

// Before orders certificates worst first: worst state, then published
// earliest (longest in breach), then by serial for a stable page order.
func Before(a, b Certificate) bool {
	if wa, wb := a.Worst(), b.Worst(); wa != wb {
		return wa > wb
	}
	if !a.PublishedAt.Equal(b.PublishedAt) {
		return a.PublishedAt.Before(b.PublishedAt)
	}
	return a.Serial.Cmp(b.Serial) < 0
}
