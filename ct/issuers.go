package ct

import (
	"crypto/sha256"
	"crypto/x509"
)

// Issuers is the set of CA certificates whose entries a caller keeps.
type Issuers struct {
	certs map[Hash]bool // SHA-256 of the DER
	keys  map[Hash]bool // SHA-256 of the SubjectPublicKeyInfo
}

// NewIssuers builds the set from the configured issuer certificates.
func NewIssuers(certs []*x509.Certificate) *Issuers {
	is := &Issuers{certs: map[Hash]bool{}, keys: map[Hash]bool{}}
	for _, c := range certs {
		is.certs[sha256.Sum256(c.Raw)] = true
		is.keys[sha256.Sum256(c.RawSubjectPublicKeyInfo)] = true
	}
	return is
}

// Match reports whether e was issued by one of the set. A precertificate
// carries its final issuer's key hash, which also covers one signed by a
// precertificate signing CA the issuer delegated to.
func (is *Issuers) Match(e *Entry) bool {
	if e.IsPrecert {
		return is.keys[e.IssuerKeyHash]
	}
	return is.certs[e.Issuer]
}
