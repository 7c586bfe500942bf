package main

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/ocsp"
)

// bulk issues n certificates and their OCSP responses straight into
// cfssl's certdb, far faster than n cfssl runs; for benchmarks.
func bulk(n int, dsn, caPath, caKeyPath, respPath, respKeyPath string) error {
	ca, err := readCert(caPath)
	if err != nil {
		return err
	}
	caKey, err := readKey(caKeyPath)
	if err != nil {
		return err
	}
	resp, err := readCert(respPath)
	if err != nil {
		return err
	}
	respKey, err := readKey(respKeyPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	now := time.Now()
	var certRows, ocspRows [][]any
	for i := 0; i < n; i++ {
		c, err := leaf(ca, caKey, fmt.Sprintf("bulk-%d.lab.example", i), false)
		if err != nil {
			return err
		}
		body, err := ocsp.CreateResponse(ca, resp, ocsp.Response{Status: ocsp.Good, SerialNumber: c.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(96 * time.Hour), Certificate: resp}, respKey)
		if err != nil {
			return err
		}
		serial, aki := []byte(c.SerialNumber.String()), []byte(hex.EncodeToString(c.AuthorityKeyId))
		certRows = append(certRows, []any{serial, aki, []byte("bulk"), []byte("good"), 0, time.Time{}, c.NotAfter,
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), now, c.NotBefore})
		ocspRows = append(ocspRows, []any{serial, aki, body, now.Add(96 * time.Hour)})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"certificates"},
		// reason 0 and revoked_at zero as cfssl writes them: its ocsprefresh
		// cannot read NULL into either.
		[]string{"serial_number", "authority_key_identifier", "ca_label", "status", "reason", "revoked_at", "expiry", "pem", "issued_at", "not_before"},
		pgx.CopyFromRows(certRows)); err != nil {
		return err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"ocsp_responses"},
		[]string{"serial_number", "authority_key_identifier", "body", "expiry"}, pgx.CopyFromRows(ocspRows))
	return err
}
