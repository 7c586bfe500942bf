package crl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
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
	db      config.Database
	query   string
	timeout time.Duration
	conn    *pgx.Conn
}

// maxRevocations bounds what one query may return, so memory stays bounded
// whatever the query selects.
const maxRevocations = 1_000_000

// NewSQLRevocations returns a source whose calls are bounded by timeout.
func NewSQLRevocations(r config.Revocations, timeout time.Duration) *SQLRevocations {
	return &SQLRevocations{db: r.Database, query: r.Query, timeout: timeout}
}

func (s *SQLRevocations) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	cfg, err := pgx.ParseConfig(s.db.DSN)
	if err != nil {
		return nil, errors.New("cannot parse DSN")
	}
	if s.db.PasswordFile != "" {
		// Read at every connect, so a rotated password is picked up.
		if cfg.Password, err = config.ReadPasswordFile(s.db.PasswordFile); err != nil {
			return nil, err
		}
	}
	cfg.ConnectTimeout = s.timeout
	cfg.RuntimeParams["application_name"] = "certstatus_exporter"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(s.timeout.Milliseconds(), 10)
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %s", config.Scrub(err.Error()))
	}
	s.conn = conn
	return conn, nil
}

// Revocations runs the query.
func (s *SQLRevocations) Revocations(ctx context.Context) ([]Revocation, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.query1(ctx, conn)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("revocations query: %s", config.Scrub(err.Error()))
	}
	return out, nil
}

func (s *SQLRevocations) query1(ctx context.Context, conn *pgx.Conn) ([]Revocation, error) {
	rows, err := conn.Query(ctx, s.query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if n := len(rows.FieldDescriptions()); n < 3 {
		return nil, fmt.Errorf("query returns %d columns; want serial, revoked_at, reason", n)
	}
	var out []Revocation
	for row := 1; rows.Next(); row++ {
		if row > maxRevocations {
			return nil, fmt.Errorf("query returns more than %d rows", maxRevocations)
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		r, err := revocationFromRow(vals)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", row, err)
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
func (s *SQLRevocations) Close() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.conn.Close(ctx)
	s.conn = nil
}
