package canary

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
	"github.com/certstatus/certstatus_exporter/store"
)

// Found is a raw certificate from a source, with its publication time and
// that time's clock if the source knows it (zero otherwise).
type Found struct {
	Raw         []byte
	PublishedAt time.Time
	Provenance  Provenance
	// ID names it for logs: a file name, or the row number.
	ID string
	// Unreadable: the source could not read it (Raw is nil); counted once.
	Unreadable bool
	// PrecertIssuer is, for a precertificate from a CT log, 1 + the index in
	// ocsp.issuers of its final issuer (issuer_key_hash); 0 when unknown.
	PrecertIssuer int
}

// positionBucket holds each source's read position, by source name.
const positionBucket = "source_positions"

// SQLSource runs a query whose first column is a certificate (PEM or DER,
// text or bytea) and whose optional second column is its issuance time.
//
// A query that takes $1 is incremental: $1 is the high-water mark, the
// latest issuance time already read (persisted, so a restart resumes), and
// the query returns only what is newer, e.g.
//
//	SELECT pem, issued_at FROM certificates WHERE issued_at > $1 ORDER BY issued_at LIMIT 10000
//
// with an index on issued_at. So that rows sharing the last time of a page
// are not lost, the mark stays at the page's previous distinct time and the
// boundary rows are read again (and skipped as already seen). $1 is the mark
// less the source's lookback: a row stamped before the mark by a transaction
// that committed after the read (inserts committing out of order) is read
// on a later poll, not skipped for ever. A read through the lookback that
// did not move the mark (a page filled by rows already read) is followed by
// one from the mark itself, so a window denser than LIMIT still progresses.
type SQLSource struct {
	name     string
	db       *pgconn.Conn
	query    string
	lookback time.Duration
	st       *store.Store
	// mark is the high-water mark of an incremental query; zero otherwise.
	mark time.Time
	// unsaved: mark moved since it was last written (see Commit).
	unsaved bool
	// behind: the last read moved the mark (see marker.Behind).
	behind bool
	// fromMark: the next read starts at the mark, not the lookback.
	fromMark bool
}

// NewSQLSource makes a source whose calls are bounded by timeout. An
// incremental query starts at the persisted mark, or at start (now minus
// track_for) on its first run.
func NewSQLSource(s config.Source, timeout time.Duration, st *store.Store, start time.Time) *SQLSource {
	src := &SQLSource{name: s.Name, db: pgconn.New(s.Database, timeout), query: s.Query, lookback: s.Lookback.D(), st: st}
	if strings.Contains(s.Query, "$1") {
		src.mark = start
		_ = st.Load(positionBucket, func(k, v []byte) error {
			if string(k) == s.Name {
				if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
					src.mark = t
				}
			}
			return nil
		})
	}
	return src
}

// Fetch runs the query; ctx must carry a deadline.
func (s *SQLSource) Fetch(ctx context.Context) ([]Found, error) {
	conn, err := s.db.Get(ctx)
	if err != nil {
		return nil, err
	}
	// The extended protocol with described result types: bytea arrives in
	// binary, half the bytes of the simple protocol's hex text.
	args := []any{pgx.QueryExecModeDescribeExec}
	lookback := s.lookback
	if s.fromMark {
		lookback = 0
	}
	if !s.mark.IsZero() {
		args = append(args, s.mark.Add(-lookback))
	}
	rows, err := conn.Query(ctx, s.query, args...)
	if err != nil {
		return nil, s.db.Fail(err)
	}
	defer rows.Close()
	out, times, err := readRows(rows)
	if err != nil {
		return nil, s.db.Fail(err)
	}
	if !s.mark.IsZero() {
		s.advance(times)
		s.fromMark = lookback > 0 && !s.behind
	}
	return out, nil
}

func readRows(rows pgx.Rows) (out []Found, times []time.Time, err error) {
	cols := len(rows.FieldDescriptions())
	for n := 1; rows.Next(); n++ {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, err
		}
		f := Found{ID: fmt.Sprintf("row %d", n)}
		switch v := vals[0].(type) {
		case []byte:
			f.Raw = v
		case string:
			f.Raw = []byte(v)
		default:
			return nil, nil, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: fmt.Errorf("first column is %T; want text or bytea", vals[0])}
		}
		if cols > 1 {
			if t, ok := vals[1].(time.Time); ok {
				f.PublishedAt, f.Provenance = t, ProvenanceSourceTime
				times = append(times, t)
			}
		}
		out = append(out, f)
	}
	return out, times, rows.Err()
}

// advance moves the mark to the previous distinct time of the page (see
// SQLSource), or to its only time, and persists it.
func (s *SQLSource) advance(times []time.Time) {
	var last, prev time.Time
	for _, t := range times {
		switch {
		case t.After(last):
			prev, last = last, t
		case t.Before(last) && t.After(prev):
			prev = t
		}
	}
	next := prev
	if next.IsZero() {
		next = last
	}
	s.behind = next.After(s.mark)
	if !s.behind {
		return
	}
	s.mark, s.unsaved = next, true
}

// Commit writes the mark, once what was read up to it is on disk: a crash
// in between reads those rows again rather than skipping them.
func (s *SQLSource) Commit() {
	if !s.unsaved {
		return
	}
	s.unsaved = false
	_ = s.st.Write(store.Batch{Bucket: positionBucket, Put: map[string][]byte{s.name: []byte(s.mark.Format(time.RFC3339Nano))}})
}

// Close releases the connection.
func (s *SQLSource) Close() { s.db.Close() }

// Traffic is how many requests this source sent to its server and how many
// bytes it received, over all its connections; for the benchmarks.
func (s *SQLSource) Traffic() (roundTrips, bytesRead int64) {
	return s.db.RoundTrips(), s.db.BytesRead()
}
