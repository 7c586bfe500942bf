package view

import (
	"fmt"
	"math/big"
	"time"
)

// SerialHex is how the incident view writes a serial: lowercase hex of its
// bytes, even-length as openssl and crt.sh show it (0b38…, not b38…).
func SerialHex(serial *big.Int) string { return fmt.Sprintf("%x", serial.Bytes()) }

// Origin is one OCSP origin (or the CDN) after its last pass.
type Origin struct {
	Name   string `json:"name"`
	CDN    bool   `json:"cdn"`
	Probed bool   `json:"probed"` // at least one request finished
	Up     bool   `json:"up"`     // the last request got an OCSP response of any status
	// LastAnswer is the last OCSP response of any status; LastPass when the
	// last pass over the due certificates began (it says nothing of success).
	LastAnswer    time.Time `json:"last_answer"`
	LastPass      time.Time `json:"last_pass"`
	LastError     string    `json:"last_error,omitempty"`
	Pending       int       `json:"pending"`
	Authoritative int       `json:"authoritative"`
	Overdue       int       `json:"overdue"`
}

// Source is one certificate source.
type Source struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Probed      bool      `json:"probed"`
	Up          bool      `json:"up"`
	LastSuccess time.Time `json:"last_success"`
	LastError   string    `json:"last_error,omitempty"`
	// Position is how far the source has been read (a CT index, an
	// issued_at), Lag how far that is behind its head; "" when not known.
	Position string `json:"position,omitempty"`
	Lag      string `json:"lag,omitempty"`
}

// OriginLister is implemented by components that ask OCSP origins.
type OriginLister interface {
	Origins() []Origin
}

// SourceLister is implemented by components that read certificate sources.
type SourceLister interface {
	Sources() []Source
}

// Certificate states at one origin (OriginAnswer.State, CertificateQuery.State).
const (
	StatePending       = "pending"
	StateAuthoritative = "authoritative"
	StateOverdue       = "overdue"
)

// States lists every state, best first.
func States() []string { return []string{StateAuthoritative, StatePending, StateOverdue} }

// StateRank orders states, larger is worse; -1 for an unknown name.
func StateRank(s string) int {
	for i, x := range States() {
		if x == s {
			return i
		}
	}
	return -1
}

// Worst is a certificate's worst state over its origins.
func (c Certificate) Worst() string {
	w := StateAuthoritative
	for _, o := range c.Origins {
		if StateRank(o.State) > StateRank(w) {
			w = o.State
		}
	}
	return w
}

// Compare orders certificates worst first: worst state, then published
// earliest (longest in breach), then by serial, for a stable page order.
func Compare(a, b Certificate) int {
	if ra, rb := StateRank(a.Worst()), StateRank(b.Worst()); ra != rb {
		return rb - ra
	}
	if !a.PublishedAt.Equal(b.PublishedAt) {
		return a.PublishedAt.Compare(b.PublishedAt)
	}
	// Hex serials without leading zeros: shorter is smaller.
	if len(a.Serial) != len(b.Serial) {
		return len(a.Serial) - len(b.Serial)
	}
	switch {
	case a.Serial < b.Serial:
		return -1
	case a.Serial > b.Serial:
		return 1
	}
	return 0
}
