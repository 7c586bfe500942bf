package crl

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidIDP            = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidDeltaCRL       = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidCertIssuer     = asn1.ObjectIdentifier{2, 5, 29, 29}
	errIDPUnparseable = errors.New("issuingDistributionPoint does not parse")
)

// idp is the part of an issuingDistributionPoint extension (RFC 5280
// 5.2.5) the checks use.
type idp struct {
	URIs     []string
	Indirect bool
}

func findExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// parseIDP reads the fullName URIs and the indirectCRL flag.
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	  distributionPoint [0] DistributionPointName OPTIONAL,  -- fullName [0] GeneralNames
//	  onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE,
//	  onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE,
//	  onlySomeReasons [3] ReasonFlags OPTIONAL,
//	  indirectCRL [4] BOOLEAN DEFAULT FALSE, ... }
func parseIDP(der []byte) (idp, error) {
	var out idp
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return out, errIDPUnparseable
	}
	var dpName cryptobyte.String
	var hasDP bool
	if !seq.ReadOptionalASN1(&dpName, &hasDP, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return out, errIDPUnparseable
	}
	if hasDP {
		var names cryptobyte.String
		var hasFull bool
		if !dpName.ReadOptionalASN1(&names, &hasFull, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return out, errIDPUnparseable
		}
		for hasFull && !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				return out, errIDPUnparseable
			}
			if tag == cbasn1.Tag(6).ContextSpecific() { // uniformResourceIdentifier
				out.URIs = append(out.URIs, string(name))
			}
		}
	}
	for !seq.Empty() {
		var field cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&field, &tag) {
			return out, errIDPUnparseable
		}
		if tag == cbasn1.Tag(4).ContextSpecific() {
			out.Indirect = len(field) == 1 && field[0] != 0
		}
	}
	return out, nil
}

// marshalIDP encodes an IDP with one fullName URI, for tests and the lab's
// renderer.
func marshalIDP(uri string) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes([]byte(uri))
				})
			})
		})
	})
	return b.Bytes()
}

// IDPExtension is the issuingDistributionPoint extension naming uri, as a
// partitioned CRL carries it (BR 7.2.2.1). It is critical, as RFC 5280 says.
func IDPExtension(uri string) (pkix.Extension, error) {
	der, err := marshalIDP(uri)
	return pkix.Extension{Id: oidIDP, Critical: true, Value: der}, err
}
