package canary

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Certificate kinds, the kind label.
const (
	KindCertificate    = "certificate"
	KindPrecertificate = "precertificate"
)

// CertKinds lists every kind.
func CertKinds() []string { return []string{KindCertificate, KindPrecertificate} }

// oidCTPoison marks a precertificate (RFC 6962 3.1).
var oidCTPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}

// Source error reasons, the reason label.
const (
	SourceErrUnparseable   = "unparseable"
	SourceErrUnknownIssuer = "unknown_issuer"
	SourceErrFetch         = "fetch"
)

// SourceErrorReasons lists every reason.
func SourceErrorReasons() []string {
	return []string{SourceErrUnparseable, SourceErrUnknownIssuer, SourceErrFetch}
}

// IssuedCert is a certificate found by a source, reduced to what the canary
// needs: who issued it, its serial, when it was published and by which
// clock, when it expires, and what it is.
type IssuedCert struct {
	Issuer      int // index into the configured issuers
	Serial      *big.Int
	PublishedAt time.Time
	Provenance  Provenance
	NotBefore   time.Time // not a clock; bounds how old a certificate can be
	NotAfter    time.Time
	Kind        string
	// SeenBy says which source found it, for reconciling CT with the
	// CA's inventory.
	SeenBy Sighting
}

// CertError is a certificate a source could not use, with its reason.
type CertError struct {
	Reason string
	Err    error
}

func (e *CertError) Error() string { return e.Err.Error() }
func (e *CertError) Unwrap() error { return e.Err }

// ParseIssued reads one certificate (PEM or DER) and finds its issuer. Its
// publication time is the most trustworthy clock known (design.md): the
// source's own (f.PublishedAt by f.Provenance), an embedded SCT if that is
// better, else now as first seen. notBefore never is: CAs backdate it.
func ParseIssued(f Found, issuers []*ocsp.Issuer, now time.Time) (IssuedCert, error) {
	raw := f.Raw
	der := raw
	if block, _ := pem.Decode(raw); block != nil {
		if block.Type != "CERTIFICATE" {
			return IssuedCert{}, &CertError{SourceErrUnparseable, fmt.Errorf("PEM block %q is not a CERTIFICATE", block.Type)}
		}
		der = block.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return IssuedCert{}, &CertError{SourceErrUnparseable, err}
	}
	if len(cert.SerialNumber.Bytes()) > maxSerialLen {
		// RFC 5280 4.1.2.2; the tracker keeps serials inline at this size.
		return IssuedCert{}, &CertError{SourceErrUnparseable, fmt.Errorf("serial of %d octets, longer than RFC 5280's 20", len(cert.SerialNumber.Bytes()))}
	}
	ic := IssuedCert{Issuer: -1, Serial: cert.SerialNumber, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		Kind: KindCertificate, PublishedAt: now, Provenance: ProvenanceFirstSeen}
	if !f.PublishedAt.IsZero() && f.Provenance.better(ic.Provenance) {
		ic.PublishedAt, ic.Provenance = f.PublishedAt, f.Provenance
	}
	if sct := earliestSCT(cert); !sct.IsZero() && ProvenanceEmbeddedSCT.better(ic.Provenance) {
		ic.PublishedAt, ic.Provenance = sct, ProvenanceEmbeddedSCT
	}
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidCTPoison) {
			ic.Kind = KindPrecertificate
		}
	}
	for i, is := range issuers {
		if cert.CheckSignatureFrom(is.Cert) == nil {
			ic.Issuer = i
			return ic, nil
		}
	}
	// A precertificate signed by a precertificate signing CA (RFC 6962 3.1)
	// is the issuer's although no issuer signed it; a CT source knows whose
	// it is from the issuer_key_hash the log computed from the chain.
	if ic.Kind == KindPrecertificate && f.PrecertIssuer > 0 && f.PrecertIssuer <= len(issuers) {
		ic.Issuer = f.PrecertIssuer - 1
		return ic, nil
	}
	return ic, &CertError{SourceErrUnknownIssuer,
		errors.New("issued by " + cert.Issuer.String() + ", which is not in ocsp.issuers")}
}
