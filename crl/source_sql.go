package crl

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// RevocationSource is the CA's record of revocations.
type RevocationSource interface {
	// Revocations returns the record; ctx carries the deadline.
	Revocations(ctx context.Context) ([]Revocation, error)
	Close()
}

// SQLRevocations runs the configured query: serial, revoked_at, reason and
// an optional fourth column, the certificate's expiry.
type SQLRevocations struct {
	db    *pgconn.Conn
	query string
}

// maxRevocations bounds what one query may return, so memory stays bounded
// whatever the query selects.
const maxRevocations = 1_000_000

// NewSQLRevocations returns a source whose calls are bounded by timeout.
func NewSQLRevocations(r config.Revocations, timeout time.Duration) *SQLRevocations {
	return &SQLRevocations{db: pgconn.New(r.Database, timeout), query: r.Query}
}

// Revocations runs the query; errors are pgconn.ProbeErrors with a reason.
func (s *SQLRevocations) Revocations(ctx context.Context) ([]Revocation, error) {
	conn, err := s.db.Get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.read(ctx, conn)
	if err != nil {
		return nil, s.db.Fail(err)
	}
	return out, nil
}

func (s *SQLRevocations) read(ctx context.Context, conn *pgx.Conn) ([]Revocation, error) {
	rows, err := conn.Query(ctx, s.query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if n := len(rows.FieldDescriptions()); n < 3 {
		return nil, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: fmt.Errorf("query returns %d columns; want serial, revoked_at, reason", n)}
	}
	var out []Revocation
	for row := 1; rows.Next(); row++ {
		if row > maxRevocations {
			return nil, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: fmt.Errorf("query returns more than %d rows", maxRevocations)}
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		r, err := revocationFromRow(vals)
		if err != nil {
			return nil, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: fmt.Errorf("row %d: %w", row, err)}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func revocationFromRow(vals []any) (Revocation, error) {
	var r Revocation
	var err error
	if r.Serial, err = parseSerial(vals[0]); err != nil {
		return r, err
	}
	t, ok := vals[1].(time.Time)
	if !ok {
		return r, fmt.Errorf("revoked_at is %T; want a timestamp", vals[1])
	}
	r.RevokedAt = t
	if r.Reason, err = parseReason(vals[2]); err != nil {
		return r, err
	}
	if len(vals) > 3 {
		r.Expiry, _ = vals[3].(time.Time)
	}
	return r, nil
}

// Close drops the connection.
func (s *SQLRevocations) Close() { s.db.Close() }
