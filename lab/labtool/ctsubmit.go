package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/jsonclient"
	"github.com/google/certificate-transparency-go/tls"
)

// submitTimeout bounds one add-chain: TesseraCT answers only once the entry is
// integrated (its publication awaiter), about one checkpoint interval.
const submitTimeout = 30 * time.Second

// newLogClient is a CT submission client that verifies every SCT it gets
// against the log's public key (PEM file).
func newLogClient(url, pubPath string) (*client.LogClient, error) {
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: submitTimeout}
	return client.New(url, hc, jsonclient.Options{PublicKey: string(pub), UserAgent: "certstatus-lab",
		Logger: quietLogger{}})
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// isPrecert tells a precertificate (CT poison extension) from a certificate.
func isPrecert(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidCTPoison) {
			return true
		}
	}
	return false
}

// submit adds chain (leaf first) to the log: add-pre-chain for a
// precertificate, add-chain otherwise. The SCT's signature is verified.
func submit(ctx context.Context, lc *client.LogClient, chain ...*x509.Certificate) (*ct.SignedCertificateTimestamp, error) {
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	raw := make([]ct.ASN1Cert, len(chain))
	for i, c := range chain {
		raw[i] = ct.ASN1Cert{Data: c.Raw}
	}
	if isPrecert(chain[0]) {
		return lc.AddPreChain(ctx, raw)
	}
	return lc.AddChain(ctx, raw)
}

// ctSubmit is `labtool ct-submit LOG-URL LOG-PUB.pem CERT.pem ISSUER.pem`: prints
// the entry type, the SCT timestamp (ms) and the SCT (base64, TLS encoding).
func ctSubmit(url, pubPath, certPath, issuerPath string) error {
	lc, err := newLogClient(url, pubPath)
	if err != nil {
		return err
	}
	leafCert, err := readCert(certPath)
	if err != nil {
		return err
	}
	issuer, err := readCert(issuerPath)
	if err != nil {
		return err
	}
	sct, err := submit(context.Background(), lc, leafCert, issuer)
	if err != nil {
		return err
	}
	enc, err := tls.Marshal(*sct)
	if err != nil {
		return err
	}
	kind := "cert"
	if isPrecert(leafCert) {
		kind = "precert"
	}
	fmt.Printf("%s timestamp=%d sct=%s\n", kind, sct.Timestamp, base64.StdEncoding.EncodeToString(enc))
	return nil
}
