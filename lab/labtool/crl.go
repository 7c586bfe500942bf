package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/crl"
)

// crlCommand is the lab's CRL publisher:
//
//	labtool crl -dsn DSN -ca CA.pem -key CA-KEY.pem -out DIR -url BASE -shards N [-every 2s] [-window 10s]
//	    renders N shard CRLs (serial mod N; IDP = BASE<i>.crl; a CRLNumber)
//	    from one database node's view of cfssl's certdb into DIR, once or
//	    every -every until killed
//	labtool crl serve -dir DIR -addr 127.0.0.1:PORT
//	    serves DIR's CRLs as application/pkix-crl, with Last-Modified
func crlCommand(args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return serveCRLs(args[1:])
	}
	fs := flag.NewFlagSet("crl", flag.ContinueOnError)
	dsn := fs.String("dsn", "", "certdb DSN (a replica's, to render its view)")
	caPath := fs.String("ca", "", "CA certificate PEM")
	keyPath := fs.String("key", "", "CA key PEM")
	out := fs.String("out", "", "docroot to write shards/<i>.crl into")
	base := fs.String("url", "http://crl.lab.example/shards/", "public URL prefix of the shards")
	shards := fs.Int("shards", 2, "number of shards")
	every := fs.Duration("every", 0, "render again at this interval until killed (0: once)")
	window := fs.Duration("window", 10*time.Second, "thisUpdate is the start of this window, so that nodes with the same data render the same CRL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" || *caPath == "" || *keyPath == "" || *out == "" || *shards < 1 {
		return errors.New("crl: -dsn, -ca, -key, -out and -shards are required")
	}
	ca, err := readCert(*caPath)
	if err != nil {
		return err
	}
	key, err := readKey(*keyPath)
	if err != nil {
		return err
	}
	r := &renderer{dsn: *dsn, ca: ca, key: key, dir: filepath.Join(*out, "shards"), base: *base, shards: *shards, window: *window}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	if *every == 0 {
		return r.render()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		// A failed render (the node is down) keeps the last files: the CRL
		// then ages at the origin, as it would in production.
		if err := r.render(); err != nil {
			log.Printf("crl render: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type renderer struct {
	dsn     string
	ca      *x509.Certificate
	key     crypto.Signer
	dir     string
	base    string
	shards  int
	window  time.Duration
	written *big.Int // the last CRLNumber written
}

type revoked struct {
	serial    *big.Int
	revokedAt time.Time
	reason    int
}

func (r *renderer) read(ctx context.Context) ([]revoked, error) {
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	// cfssl keeps the serial as decimal text in a bytea, and the status as
	// bytea too; an entry stays until its certificate expires.
	rows, err := conn.Query(ctx, `SELECT convert_from(serial_number, 'UTF8'), revoked_at, coalesce(reason, 0)
		FROM certificates WHERE status = 'revoked'::bytea AND revoked_at IS NOT NULL AND (expiry IS NULL OR expiry > now())`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []revoked
	for rows.Next() {
		var s string
		var e revoked
		if err := rows.Scan(&s, &e.revokedAt, &e.reason); err != nil {
			return nil, err
		}
		var ok bool
		if e.serial, ok = new(big.Int).SetString(s, 10); !ok {
			return nil, fmt.Errorf("serial %q is not decimal", s)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// render writes every shard when the CRLNumber changed. thisUpdate is the
// window's start, or the newest revocation if later; the CRLNumber is
// thisUpdate in seconds × 1000 + the entry count mod 1000, so it grows with
// time and with every revocation, and two nodes with the same data render
// the same content.
func (r *renderer) render() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	revs, err := r.read(ctx)
	if err != nil {
		return err
	}
	this, number := crlVersion(revs, time.Now(), r.window)
	if r.written != nil && number.Cmp(r.written) <= 0 {
		return nil
	}
	for i := range r.shards {
		url := fmt.Sprintf("%s%d.crl", r.base, i)
		idp, err := crl.IDPExtension(url)
		if err != nil {
			return err
		}
		tmpl := &x509.RevocationList{Number: number, ThisUpdate: this, NextUpdate: this.Add(7 * 24 * time.Hour),
			ExtraExtensions: []pkix.Extension{idp}}
		for _, e := range revs {
			if new(big.Int).Mod(e.serial, big.NewInt(int64(r.shards))).Int64() == int64(i) {
				tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
					x509.RevocationListEntry{SerialNumber: e.serial, RevocationTime: e.revokedAt, ReasonCode: e.reason})
			}
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.ca, r.key)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(r.dir, fmt.Sprintf("%d.crl", i)), der); err != nil {
			return err
		}
	}
	r.written = number
	return nil
}

// crlVersion is the thisUpdate and CRLNumber of a CRL listing revs at now:
// the window's start, or the newest revocation if later; the number is
// thisUpdate in seconds × 1000 + the entry count mod 1000.
func crlVersion(revs []revoked, now time.Time, window time.Duration) (time.Time, *big.Int) {
	this := now.Truncate(window)
	for _, e := range revs {
		if t := e.revokedAt.Truncate(time.Second); t.After(this) {
			this = t
		}
	}
	return this, big.NewInt(this.Unix()*1000 + int64(len(revs)%1000))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serveCRLs is one origin's HTTP server: static files, a CRL content type,
// and Last-Modified / If-Modified-Since from http.ServeFile.
func serveCRLs(args []string) error {
	fs := flag.NewFlagSet("crl serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "docroot")
	addr := fs.String("addr", "", "listen address (127.0.0.1:PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || !strings.HasPrefix(*addr, "127.0.0.1:") {
		return errors.New("crl serve: -dir and a loopback -addr are required")
	}
	root := http.Dir(*dir)
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, ".crl") {
			w.Header().Set("Content-Type", "application/pkix-crl")
		}
		http.FileServer(root).ServeHTTP(w, req)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}
