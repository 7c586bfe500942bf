package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// osslIndex writes an `openssl ca` index.txt listing every certificate in
// cfssl's certdb, so that `openssl ocsp -index` answers for the same
// inventory as the cfssl origins: V (or R) lines with the serial in hex.
func osslIndex(dsn, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pem, status, revoked_at FROM certificates")
	if err != nil {
		return err
	}
	var b strings.Builder
	n := 0
	for rows.Next() {
		var raw []byte
		var status []byte
		var revokedAt *time.Time
		if err := rows.Scan(&raw, &status, &revokedAt); err != nil {
			return err
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		state, revoked := "V", ""
		if string(status) == "revoked" && revokedAt != nil {
			state, revoked = "R", revokedAt.UTC().Format("060102150405Z")
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%X\tunknown\t/CN=%s\n", state, c.NotAfter.UTC().Format("060102150405Z"),
			revoked, c.SerialNumber, c.Subject.CommonName)
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}
