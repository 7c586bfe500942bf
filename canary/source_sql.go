package canary

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// Found is a raw certificate from a source, with its issuance time if the
// source knows it (zero otherwise).
type Found struct {
	Raw      []byte
	IssuedAt time.Time
	// ID names it for logs: a file name, or the row number.
	ID string
}

// SQLSource runs a query whose first column is a certificate (PEM or DER,
// text or bytea) and whose optional second column is its issuance time.
type SQLSource struct {
	db    *pgconn.Conn
	query string
}

// NewSQLSource makes a source whose calls are bounded by timeout.
func NewSQLSource(s config.Source, timeout time.Duration) *SQLSource {
	return &SQLSource{db: pgconn.New(s.Database, timeout), query: s.Query}
}

// Fetch runs the query; ctx must carry a deadline. The result is bounded by
// the query itself (e.g. the last hour of issuance).
func (s *SQLSource) Fetch(ctx context.Context) ([]Found, error) {
	conn, err := s.db.Get(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, s.query, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, s.db.Fail(err)
	}
	defer rows.Close()
	cols := len(rows.FieldDescriptions())
	var out []Found
	for n := 1; rows.Next(); n++ {
		vals, err := rows.Values()
		if err != nil {
			return nil, s.db.Fail(err)
		}
		f := Found{ID: fmt.Sprintf("row %d", n)}
		switch v := vals[0].(type) {
		case []byte:
			f.Raw = v
		case string:
			f.Raw = []byte(v)
		default:
			return nil, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: fmt.Errorf("first column is %T; want text or bytea", vals[0])}
		}
		if cols > 1 {
			if t, ok := vals[1].(time.Time); ok {
				f.IssuedAt = t
			}
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.db.Fail(err)
	}
	return out, nil
}

// Close releases the connection.
func (s *SQLSource) Close() { s.db.Close() }
