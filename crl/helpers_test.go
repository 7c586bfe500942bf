package crl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// testCA is a CA that may sign CRLs.
type testCA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA makes a self-signed CA named cn; rawSubject, if set, replaces the
// subject's encoding.
func newCA(t testing.TB, cn string, key crypto.Signer, rawSubject []byte) testCA {
	if key == nil {
		key = newKey(t)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, RawSubject: rawSubject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert, key}
}

// utf8Subject encodes CN=cn as a UTF8String, where Go writes a
// PrintableString: the same name, other bytes.
func utf8Subject(cn string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 5, 4, 3})
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(cn)) })
			})
		})
	})
	return b.BytesOrPanic()
}

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// template is a good CRL at testNow listing serials 100 and 101.
func template() *x509.RevocationList {
	return &x509.RevocationList{Number: big.NewInt(5), ThisUpdate: testNow.Add(-time.Hour), NextUpdate: testNow.Add(7 * 24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(100), RevocationTime: testNow.Add(-2 * time.Hour), ReasonCode: 1},
			{SerialNumber: big.NewInt(101), RevocationTime: testNow.Add(-3 * time.Hour)},
		}}
}

// sign makes a CRL from template() after tweak.
func (ca testCA) sign(t testing.TB, tweak func(*x509.RevocationList)) []byte {
	tmpl := template()
	if tweak != nil {
		tweak(tmpl)
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// withoutNumber re-signs a CRL without its CRLNumber extension, which
// x509.CreateRevocationList always writes (cfssl's CRLs have none).
func (ca testCA) withoutNumber(t testing.TB, der []byte) []byte {
	var cl pkix.CertificateList
	if _, err := asn1.Unmarshal(der, &cl); err != nil {
		t.Fatal(err)
	}
	tbs := &cl.TBSCertList
	tbs.Raw = nil
	var exts []pkix.Extension
	for _, e := range tbs.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 20}) {
			exts = append(exts, e)
		}
	}
	tbs.Extensions = exts
	raw, err := asn1.Marshal(*tbs)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(raw)
	sig, err := ca.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tbs.Raw = raw
	cl.SignatureValue = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	out, err := asn1.Marshal(cl)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
