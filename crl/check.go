package crl

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// Limits from the Baseline Requirements.
const (
	// MaxAge is how old thisUpdate may be: a CRL is reissued at least every
	// seven days (BR 4.9.7).
	MaxAge = 7 * 24 * time.Hour
	// MaxValidity bounds nextUpdate − thisUpdate (BR 7.2).
	MaxValidity = 10 * 24 * time.Hour
	// SlowFetch is the answer time BR 4.10.2 allows.
	SlowFetch = 10 * time.Second
)

// Mark is the newest CRLNumber and thisUpdate accepted for one shard at one
// origin; neither may go backwards.
type Mark struct {
	Number     *big.Int // nil when no CRL with a number was seen
	ThisUpdate time.Time
}

// Expect is what one shard's CRL must look like.
type Expect struct {
	Issuer *x509.Certificate
	// URL is the shard's URL; with Partitioned, the CRL's IDP must name it.
	URL         string
	Partitioned bool
	Last        Mark
}

// Entry is one revoked certificate as a CRL lists it.
type Entry struct {
	RevokedAt time.Time
	Reason    int
}

// View is what the canary keeps of a CRL that was checked: enough to compare
// it with other origins and to look revocations up, not the body.
type View struct {
	Number     *big.Int // nil when the CRL carries none
	ThisUpdate time.Time
	NextUpdate time.Time
	// Hash is of the signed content (tbsCertList), not the body: two
	// signatures of the same content differ with ECDSA.
	Hash [sha256.Size]byte
	Size int
	// Entries maps a serial's big-endian bytes to its entry.
	Entries map[string]Entry
}

// SerialKey is the key of a serial in View.Entries.
func SerialKey(serial *big.Int) string { return string(serial.Bytes()) }

// Check parses body as a DER CRL and checks it against exp at now. The view
// is nil when the body cannot be trusted at all (it does not parse, or is
// not signed by the issuer); otherwise it is returned even when a later
// check fails. err says what failed, for logs and the status page.
func Check(body []byte, exp Expect, now time.Time) (*View, Result, error) {
	rl, err := x509.ParseRevocationList(body)
	if err != nil {
		return nil, ResultParseError, err
	}
	if err := rl.CheckSignatureFrom(exp.Issuer); err != nil {
		return nil, ResultBadSignature, err
	}
	if !bytes.Equal(rl.RawIssuer, exp.Issuer.RawSubject) {
		return nil, ResultIssuerMismatch, fmt.Errorf("issuer %q is not byte-identical to the CA's subject %q",
			rl.Issuer.String(), exp.Issuer.Subject.String())
	}
	v := &View{Number: rl.Number, ThisUpdate: rl.ThisUpdate, NextUpdate: rl.NextUpdate,
		Hash: sha256.Sum256(rl.RawTBSRevocationList), Size: len(body), Entries: make(map[string]Entry, len(rl.RevokedCertificateEntries))}
	indirect := false
	for _, e := range rl.RevokedCertificateEntries {
		v.Entries[SerialKey(e.SerialNumber)] = Entry{RevokedAt: e.RevocationTime, Reason: e.ReasonCode}
		if _, ok := findExtension(e.Extensions, oidCertIssuer); ok {
			indirect = true
		}
	}
	res, err := checkFields(rl.Number, rl.ThisUpdate, rl.NextUpdate, rl, indirect, exp, now)
	return v, res, err
}

func checkFields(number *big.Int, this, next time.Time, rl *x509.RevocationList, indirect bool, exp Expect, now time.Time) (Result, error) {
	if _, ok := findExtension(rl.Extensions, oidDeltaCRL); ok {
		return ResultDeltaCRL, fmt.Errorf("a delta CRL is served where a full CRL is expected")
	}
	var dp idp
	ext, hasIDP := findExtension(rl.Extensions, oidIDP)
	if hasIDP {
		var err error
		if dp, err = parseIDP(ext.Value); err != nil {
			return ResultIDPMismatch, err
		}
	}
	if indirect || dp.Indirect {
		return ResultIndirectCRL, fmt.Errorf("an indirect CRL (entries for other issuers)")
	}
	if exp.Partitioned && !hasIDP {
		return ResultIDPMissing, fmt.Errorf("a partitioned CRL without issuingDistributionPoint")
	}
	if hasIDP && !contains(dp.URIs, exp.URL) {
		return ResultIDPMismatch, fmt.Errorf("issuingDistributionPoint names %q, not the shard URL %q", dp.URIs, exp.URL)
	}
	if number == nil {
		return ResultNoNumber, fmt.Errorf("no CRLNumber extension")
	}
	if last := exp.Last; last.Number != nil {
		switch c := number.Cmp(last.Number); {
		case c < 0:
			return ResultNumberBackwards, fmt.Errorf("CRLNumber %s is below %s seen before", number, last.Number)
		case c == 0 && this.After(last.ThisUpdate):
			return ResultNumberBackwards, fmt.Errorf("CRLNumber %s was not increased for a new thisUpdate %s", number, this.UTC().Format(time.RFC3339))
		}
	}
	if this.Before(exp.Last.ThisUpdate) {
		return ResultThisUpdateBackwards, fmt.Errorf("thisUpdate %s is before %s seen before",
			this.UTC().Format(time.RFC3339), exp.Last.ThisUpdate.UTC().Format(time.RFC3339))
	}
	return checkTimes(this, next, now)
}

// checkTimes is the part of the checks that changes with the clock alone: it
// is repeated on a CRL the origin answers "304 Not Modified" for.
func checkTimes(this, next time.Time, now time.Time) (Result, error) {
	switch {
	case this.After(now):
		return ResultThisUpdateFuture, fmt.Errorf("thisUpdate %s is in the future", this.UTC().Format(time.RFC3339))
	case next.IsZero() || !next.After(now):
		return ResultExpired, fmt.Errorf("nextUpdate %s is not in the future", next.UTC().Format(time.RFC3339))
	case now.Sub(this) > MaxAge:
		return ResultStale, fmt.Errorf("thisUpdate %s is older than 7 days", this.UTC().Format(time.RFC3339))
	case next.Sub(this) > MaxValidity:
		return ResultValidityTooLong, fmt.Errorf("nextUpdate is %s after thisUpdate; at most 10 days", next.Sub(this))
	}
	return ResultOK, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Advance returns the mark after accepting v: it never moves backwards.
func (m Mark) Advance(v *View) Mark {
	if v.Number != nil && (m.Number == nil || v.Number.Cmp(m.Number) > 0) {
		m.Number = v.Number
	}
	if v.ThisUpdate.After(m.ThisUpdate) {
		m.ThisUpdate = v.ThisUpdate
	}
	return m
}
