// Package view holds the incident view's data: what the status page and the
// JSON API show about replicas, origins, sources and offending certificates.
// Components fill these from their snapshots; the exporter renders them.
// Plain values only, never a DSN.
package view

import "time"

// Replica is one replica's latest derived state. Pointers are nil where the
// value is unknown (no primary, not yet probed).
type Replica struct {
	Name            string   `json:"name"`
	Up              bool     `json:"up"`
	Streaming       bool     `json:"streaming"`
	ReplayPaused    bool     `json:"replay_paused"`
	ReceiveLagBytes *float64 `json:"receive_lag_bytes,omitempty"`
	ReplayLagBytes  *float64 `json:"replay_lag_bytes,omitempty"`
	ReplayLagSecs   float64  `json:"replay_lag_seconds"`
	HeadroomBytes   *float64 `json:"wal_headroom_bytes,omitempty"`
	LossETASecs     *float64 `json:"wal_loss_eta_seconds,omitempty"`
	WALLost         bool     `json:"wal_lost"`
	// WALUnrecoverable: lost, and no archive the replica restores from holds it.
	WALUnrecoverable bool      `json:"wal_unrecoverable"`
	Upstream         string    `json:"upstream,omitempty"` // a cascading replica's upstream replica
	LastSuccess      time.Time `json:"last_success"`
	LastError        string    `json:"last_error,omitempty"`
}

// OriginAnswer is what one origin last said about one certificate.
type OriginAnswer struct {
	Origin string    `json:"origin"`
	State  string    `json:"state"`  // pending, authoritative, overdue
	Result string    `json:"result"` // the last ocsp result, "none" before the first answer
	Since  time.Time `json:"since"`  // when the origin started giving this result
	Asked  time.Time `json:"last_checked"`
}

// Certificate is one tracked certificate or precertificate.
type Certificate struct {
	Serial      string    `json:"serial"` // hex
	Kind        string    `json:"kind"`
	Issuer      string    `json:"issuer"`
	PublishedAt time.Time `json:"published_at"`
	Provenance  string    `json:"provenance"` // which clock published_at comes from
	// MissingFromInventory: in a CT log, in no inventory source after the
	// grace; CTSource names the log.
	MissingFromInventory bool           `json:"missing_from_inventory,omitempty"`
	CTSource             string         `json:"ct_source,omitempty"`
	Origins              []OriginAnswer `json:"origins"`
}

// CertificateQuery selects a page of certificates in a state ("" for any
// state) at any origin.
type CertificateQuery struct {
	State string
	// MissingFromInventory keeps only certificates missing from the CA's
	// inventory (in a CT log, in no inventory source).
	MissingFromInventory bool
	Offset, Limit        int
}

// ReplicaLister is implemented by components that watch replicas.
type ReplicaLister interface {
	Replicas() []Replica
}

// CertificateLister is implemented by components that track certificates;
// total counts every match, the slice holds one page, worst first.
type CertificateLister interface {
	Certificates(q CertificateQuery) (page []Certificate, total int)
}
