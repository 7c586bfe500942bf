package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/ocsp"
)

type ctIssueOpts struct {
	n, parallel                              int
	rate                                     float64
	logURL, logKey, ca, caKey, resp, respKey string
	dsn, out                                 string
	skipDB, skipOCSP, skipCT                 bool
}

// issuer is the lab CA with what signing needs.
type issuer struct {
	ca, resp       *x509.Certificate
	caKey, respKey crypto.Signer
	lc             *client.LogClient
	db             *pgxpool.Pool
}

// ctIssue is `labtool ct-issue`: certificates issued like a publicly trusted
// CA does: precertificate -> add-pre-chain -> final certificate carrying the
// SCT -> add-chain, then the CA database row and the signed OCSP row. Each
// step can be skipped to reproduce the incidents (seeds 000-002). Prints one
// line per certificate: serial (decimal), PEM path ("-" if none), precert and cert SCT
// timestamps in ms (0 when not logged).
func ctIssue(args []string) error {
	var o ctIssueOpts
	fs := flag.NewFlagSet("ct-issue", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 1, "certificates to issue")
	fs.IntVar(&o.parallel, "parallel", 16, "certificates in flight at once")
	fs.Float64Var(&o.rate, "rate", 0, "certificates per second, steady (0: as fast as the log takes them)")
	fs.StringVar(&o.logURL, "log", "", "CT log submission URL")
	fs.StringVar(&o.logKey, "log-key", "", "CT log public key (PEM)")
	fs.StringVar(&o.ca, "ca", "", "CA certificate")
	fs.StringVar(&o.caKey, "ca-key", "", "CA key")
	fs.StringVar(&o.resp, "responder", "", "OCSP responder certificate")
	fs.StringVar(&o.respKey, "responder-key", "", "OCSP responder key")
	fs.StringVar(&o.dsn, "dsn", "", "certdb DSN (superuser)")
	fs.StringVar(&o.out, "out", "", "directory for the final certificates' PEM (the spool); empty: none")
	fs.BoolVar(&o.skipDB, "skip-db", false, "do not insert the certificate into the CA database (nor the spool)")
	fs.BoolVar(&o.skipOCSP, "skip-ocsp", false, "do not insert the OCSP response row")
	fs.BoolVar(&o.skipCT, "skip-ct", false, "do not submit the precertificate and certificate to CT")
	if err := fs.Parse(args); err != nil {
		return err
	}
	is, err := loadIssuer(o)
	if err != nil {
		return err
	}
	if is.db != nil {
		defer is.db.Close()
	}
	return issueMany(o, is)
}

func loadIssuer(o ctIssueOpts) (*issuer, error) {
	var is issuer
	var err error
	if is.ca, err = readCert(o.ca); err != nil {
		return nil, err
	}
	if is.caKey, err = readKey(o.caKey); err != nil {
		return nil, err
	}
	if !o.skipOCSP {
		if is.resp, err = readCert(o.resp); err != nil {
			return nil, err
		}
		if is.respKey, err = readKey(o.respKey); err != nil {
			return nil, err
		}
	}
	if !o.skipCT {
		if is.lc, err = newLogClient(o.logURL, o.logKey); err != nil {
			return nil, err
		}
	}
	if !o.skipDB || !o.skipOCSP {
		cfg, err := pgxpool.ParseConfig(o.dsn)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = 4
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		if is.db, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
			return nil, err
		}
	}
	return &is, nil
}

// issueMany issues o.n certificates, o.parallel at once, started at o.rate.
func issueMany(o ctIssueOpts, is *issuer) error {
	var tick <-chan time.Time
	if o.rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer t.Stop()
		tick = t.C
	}
	sem := make(chan struct{}, max(o.parallel, 1))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := 0; i < o.n; i++ {
		if tick != nil && i > 0 {
			<-tick
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			line, err := issueOne(o, is)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			fmt.Println(line)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func issueOne(o ctIssueOpts, is *issuer) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serial, err := randomSerial()
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	cn := fmt.Sprintf("ct-%s.lab.example", serial.Text(36))
	// Backdated like cfssl does: notBefore is not a publication clock.
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	var preTS, certTS uint64
	if !o.skipCT {
		pre, err := sign(tmpl, is, &key.PublicKey, pkix.Extension{Id: oidCTPoison, Critical: true, Value: asn1.NullBytes})
		if err != nil {
			return "", err
		}
		sct, err := submit(ctx, is.lc, pre, is.ca)
		if err != nil {
			return "", fmt.Errorf("add-pre-chain: %w", err)
		}
		preTS = sct.Timestamp
		ext, err := sctListExtension(sct)
		if err != nil {
			return "", err
		}
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	final, err := sign(tmpl, is, &key.PublicKey)
	if err != nil {
		return "", err
	}
	if !o.skipCT {
		sct, err := submit(ctx, is.lc, final, is.ca)
		if err != nil {
			return "", fmt.Errorf("add-chain: %w", err)
		}
		certTS = sct.Timestamp
	}
	if err := record(ctx, o, is, final); err != nil {
		return "", err
	}
	path := "-"
	// The spool is part of the CA's own records: a certificate kept out of
	// the database is kept out of it too.
	if o.out != "" && !o.skipDB {
		path = filepath.Join(o.out, final.SerialNumber.String()+".pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: final.Raw}), 0o644); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s %s %d %d", final.SerialNumber, path, preTS, certTS), nil
}

func sign(tmpl *x509.Certificate, is *issuer, pub crypto.PublicKey, extra ...pkix.Extension) (*x509.Certificate, error) {
	t := *tmpl
	t.ExtraExtensions = append(append([]pkix.Extension(nil), tmpl.ExtraExtensions...), extra...)
	der, err := x509.CreateCertificate(rand.Reader, &t, is.ca, pub, is.caKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sctListExtension is the RFC 6962 s3.3 extension: an OCTET STRING holding
// the TLS-encoded SignedCertificateTimestampList.
func sctListExtension(sct *ct.SignedCertificateTimestamp) (pkix.Extension, error) {
	enc, err := tls.Marshal(*sct)
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := tls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: enc}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	val, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: val}, nil
}

// record writes the certdb row (as cfssl's certdb keys it: decimal serial,
// hex AKI) and the signed OCSP row, unless skipped.
func record(ctx context.Context, o ctIssueOpts, is *issuer, c *x509.Certificate) error {
	now := time.Now()
	serial, aki := c.SerialNumber.String(), hex.EncodeToString(c.AuthorityKeyId)
	if !o.skipDB {
		// reason 0 and revoked_at zero as cfssl writes them: its ocsprefresh
		// cannot read NULL into either.
		if _, err := is.db.Exec(ctx, `INSERT INTO certificates (serial_number, authority_key_identifier, ca_label,
			status, reason, revoked_at, expiry, pem, issued_at, not_before)
			VALUES ($1, $2, 'ct', 'good', 0, '0001-01-01 00:00:00+00', $3, $4, $5, $6)`,
			[]byte(serial), []byte(aki), c.NotAfter,
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), now, c.NotBefore); err != nil {
			return fmt.Errorf("certdb insert: %w", err)
		}
	}
	if !o.skipOCSP {
		body, err := ocsp.CreateResponse(is.ca, is.resp, ocsp.Response{Status: ocsp.Good, SerialNumber: c.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(96 * time.Hour), Certificate: is.resp}, is.respKey)
		if err != nil {
			return err
		}
		if _, err := is.db.Exec(ctx, `INSERT INTO ocsp_responses (serial_number, authority_key_identifier, body, expiry)
			VALUES ($1, $2, $3, $4)`, []byte(serial), []byte(aki), body, now.Add(96*time.Hour)); err != nil {
			return fmt.Errorf("ocsp row insert: %w", err)
		}
	}
	return nil
}
