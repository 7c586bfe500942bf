package canary

import (
	"crypto/x509"
	"encoding/asn1"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

// oidSCTList is the embedded SCT list extension (RFC 6962 3.3).
var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// earliestSCT is the earliest timestamp among the SCTs embedded in cert, or
// the zero time when it has none (precertificates never have any).
func earliestSCT(cert *x509.Certificate) time.Time {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSCTList) {
			continue
		}
		var octets []byte
		if _, err := asn1.Unmarshal(ext.Value, &octets); err != nil {
			return time.Time{}
		}
		var list ctx509.SignedCertificateTimestampList
		if rest, err := cttls.Unmarshal(octets, &list); err != nil || len(rest) != 0 {
			return time.Time{}
		}
		var earliest time.Time
		for _, raw := range list.SCTList {
			var s ct.SignedCertificateTimestamp
			if rest, err := cttls.Unmarshal(raw.Val, &s); err != nil || len(rest) != 0 {
				return time.Time{}
			}
			at := time.UnixMilli(int64(s.Timestamp))
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		return earliest
	}
	return time.Time{}
}
