package crl

import (
	"math/big"
	"time"
)

// Revocation is one revocation in the CA's own record.
type Revocation struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    int       // RFC 5280 CRLReason code; 0 when unspecified
	Expiry    time.Time // the certificate's notAfter; zero when the source does not say
}

// State is where one revocation stands at one origin.
type State uint8

// States. Mismatched is listed, but with another date or reason than the
// CA's record.
const (
	StatePending State = iota
	StateListed
	StateOverdue
	StateMismatched
	numStates
)

var stateNames = [numStates]string{"pending", "listed", "overdue", "mismatched"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "unknown"
}

// States returns every state, so that a zero count is exported too.
func States() []State { return []State{StatePending, StateListed, StateOverdue, StateMismatched} }

// stateOf decides r's state at an origin whose CRLs list e (found says
// whether they list the serial at all). CRL times have whole seconds.
func stateOf(r Revocation, e Entry, found bool, deadline time.Duration, now time.Time) State {
	switch {
	case found && e.Reason == r.Reason && e.RevokedAt.Equal(r.RevokedAt.Truncate(time.Second)):
		return StateListed
	case found:
		return StateMismatched
	case now.Sub(r.RevokedAt) > deadline:
		return StateOverdue
	}
	return StatePending
}

// unexpired tells whether r's certificate may still be used, so that its
// entry must stay on the CRL (BR 4.10.1). Unknown expiry counts as unexpired.
func (r Revocation) unexpired(now time.Time) bool {
	return r.Expiry.IsZero() || r.Expiry.After(now)
}

// earlyRemovals counts serials on prev but not on cur that the CA's record
// still holds as revoked and unexpired.
func earlyRemovals(prev, cur *View, record map[string]Revocation, now time.Time) int {
	if prev == nil || cur == nil || prev.Hash == cur.Hash {
		return 0
	}
	n := 0
	for k := range prev.Entries {
		if _, still := cur.Entries[k]; still {
			continue
		}
		if r, ok := record[k]; ok && r.unexpired(now) {
			n++
		}
	}
	return n
}
