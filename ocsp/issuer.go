package ocsp

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // OCSP CertIDs use SHA-1 (RFC 5019)
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"

	xocsp "golang.org/x/crypto/ocsp"
)

// Issuer is an issuing CA with the hashes its OCSP CertIDs carry.
type Issuer struct {
	Cert     *x509.Certificate
	NameHash []byte
	KeyHash  []byte
}

// NewIssuer precomputes the SHA-1 CertID hashes of an issuing CA.
func NewIssuer(cert *x509.Certificate) (*Issuer, error) {
	bits, err := publicKeyBits(cert)
	if err != nil {
		return nil, err
	}
	name := sha1.Sum(cert.RawSubject) //nolint:gosec
	key := sha1.Sum(bits)             //nolint:gosec
	return &Issuer{Cert: cert, NameHash: name[:], KeyHash: key[:]}, nil
}

// publicKeyBits is what a CertID's issuerKeyHash hashes: the subjectPublicKey
// BIT STRING's value, without tag, length or unused-bits count.
func publicKeyBits(cert *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("issuer %q: %w", cert.Subject, err)
	}
	return spki.PublicKey.RightAlign(), nil
}

// Request is the DER OCSP request for a serial of this issuer.
func (is *Issuer) Request(serial *big.Int) ([]byte, error) {
	return (&xocsp.Request{HashAlgorithm: crypto.SHA1, IssuerNameHash: is.NameHash,
		IssuerKeyHash: is.KeyHash, SerialNumber: serial}).Marshal()
}
