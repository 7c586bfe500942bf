package ct

import (
	"crypto/sha256"
	"crypto/x509"
)

// Issuers is the set of CA certificates whose entries a caller keeps.
type Issuers struct {
	certs map[Hash]int // SHA-256 of the DER -> index in the configured list
	keys  map[Hash]int // SHA-256 of the SubjectPublicKeyInfo -> index
}

// NewIssuers builds the set from the configured issuer certificates.
func NewIssuers(certs []*x509.Certificate) *Issuers {
	is := &Issuers{certs: map[Hash]int{}, keys: map[Hash]int{}}
	for i, c := range certs {
		is.certs[sha256.Sum256(c.Raw)] = i
		is.keys[sha256.Sum256(c.RawSubjectPublicKeyInfo)] = i
	}
	return is
}

// Match returns the index of e's issuer in the configured list, if one of
// them issued it. A precertificate carries its final issuer's key hash, which
// also covers one signed by a precertificate signing CA the issuer delegated to.
func (is *Issuers) Match(e *Entry) (int, bool) {
	if e.IsPrecert {
		i, ok := is.keys[e.IssuerKeyHash]
		return i, ok
	}
	i, ok := is.certs[e.Issuer]
	return i, ok
}
