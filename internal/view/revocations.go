package view

import "time"

// Revocation is a revocation in the CA's record that one origin does not
// (yet) list as recorded.
type Revocation struct {
	Serial    string    `json:"serial"` // hex
	Origin    string    `json:"origin"`
	State     string    `json:"state"` // pending, overdue, mismatched
	RevokedAt time.Time `json:"revoked_at"`
}

// RevocationLister is implemented by components that check revocations are
// published (the CRL canary): worst first, bounded per origin.
type RevocationLister interface {
	UnlistedRevocations() []Revocation
}
