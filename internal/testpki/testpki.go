// Package testpki makes throwaway PKIs for tests: a CA, a delegated OCSP
// responder, and the wrong kinds of signer a misbehaving origin might use.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// PKI is a CA with a delegated responder, a responder without the
// OCSPSigning EKU, an expired responder, and an unrelated CA.
type PKI struct {
	CA, Responder, NoEKU, Expired, Stranger *x509.Certificate
	CAKey, ResponderKey, NoEKUKey           crypto.Signer
	ExpiredKey, StrangerKey                 crypto.Signer
}

// OIDCTPoison marks a precertificate.
var OIDCTPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mkCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// New makes a fresh PKI.
func New(t testing.TB) *PKI {
	now := time.Now()
	p := &PKI{}
	caKey, respKey, noEKUKey, expKey, strKey := newKey(t), newKey(t), newKey(t), newKey(t), newKey(t)
	p.CAKey, p.ResponderKey, p.NoEKUKey, p.ExpiredKey, p.StrangerKey = caKey, respKey, noEKUKey, expKey, strKey
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 24 * 365), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	p.CA = mkCert(t, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	leaf := func(cn string, eku []x509.ExtKeyUsage, nb, na time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: nb, NotAfter: na, ExtKeyUsage: eku, KeyUsage: x509.KeyUsageDigitalSignature}
	}
	ocspEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	p.Responder = mkCert(t, leaf("responder", ocspEKU, now.Add(-time.Hour), now.Add(24*time.Hour)), p.CA, &respKey.PublicKey, caKey)
	p.NoEKU = mkCert(t, leaf("no-eku", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, now.Add(-time.Hour), now.Add(24*time.Hour)), p.CA, &noEKUKey.PublicKey, caKey)
	p.Expired = mkCert(t, leaf("expired", ocspEKU, now.Add(-48*time.Hour), now.Add(-24*time.Hour)), p.CA, &expKey.PublicKey, caKey)
	strTmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "stranger CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true}
	p.Stranger = mkCert(t, strTmpl, strTmpl, &strKey.PublicKey, strKey)
	return p
}

// Response signs an OCSP answer about serial; tweak edits the template.
// Signers other than the CA and the stranger are embedded as delegated.
func (p *PKI) Response(t testing.TB, serial *big.Int, signer *x509.Certificate, key crypto.Signer, tweak func(*ocsp.Response)) []byte {
	now := time.Now()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: serial,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(71 * time.Hour)}
	if signer != p.CA && signer != p.Stranger {
		tmpl.Certificate = signer
	}
	if tweak != nil {
		tweak(&tmpl)
	}
	der, err := ocsp.CreateResponse(p.CA, signer, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Leaf issues a certificate from the CA; precert adds the CT poison.
func (p *PKI) Leaf(t testing.TB, serial int64, precert bool) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour)}
	if precert {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: OIDCTPoison, Critical: true, Value: asn1.NullBytes}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, p.ResponderKey.Public(), p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// ParseOCSPRequest decodes the OCSP request a test peer received: POST
// body, or the GET form (RFC 5019: base64 in the path, percent-encoded or
// not), as the request was sent.
func ParseOCSPRequest(r *http.Request) (*ocsp.Request, error) {
	var der []byte
	if r.Method == http.MethodPost {
		der, _ = io.ReadAll(r.Body)
	} else {
		seg, _ := url.PathUnescape(strings.TrimPrefix(r.RequestURI, "/"))
		der, _ = base64.StdEncoding.DecodeString(seg)
	}
	return ocsp.ParseRequest(der)
}
