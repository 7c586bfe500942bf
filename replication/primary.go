package replication

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// PrimaryStatus is what the primary says about its WAL and its standbys.
type PrimaryStatus struct {
	// FlushLSN is pg_current_wal_flush_lsn(): the most a standby can have.
	FlushLSN     LSN
	SegmentSize  uint64
	WALKeepBytes uint64
	// OldestSegment is the start of the oldest WAL segment still in pg_wal;
	// valid when HasOldest.
	OldestSegment LSN
	HasOldest     bool
	Slots         []Slot
	Senders       []Sender
	At            time.Time
}

// RetainedBytes is how much WAL pg_wal holds behind the flush position.
func (s PrimaryStatus) RetainedBytes() uint64 { return s.FlushLSN.Minus(s.OldestSegment) }

// Slot is one physical replication slot.
type Slot struct {
	Name       string
	Active     bool
	WALStatus  string // reserved, extended, unreserved, lost ("" on a fresh slot)
	RestartLSN LSN
	// SafeWALSize is how much more WAL may be written before the slot loses
	// WAL; nil when retention is unlimited (max_slot_wal_keep_size = -1).
	SafeWALSize *int64
}

// Sender is one pg_stat_replication row.
type Sender struct {
	State string
}

// All three go in one batch: one round trip. pg_ls_waldir() needs pg_monitor.
const (
	primaryQuery = `SELECT pg_current_wal_flush_lsn()::text,
  pg_size_bytes(current_setting('wal_segment_size')),
  pg_size_bytes(current_setting('wal_keep_size')),
  (SELECT min(substr(name, 9)) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'),
  clock_timestamp()`
	slotsQuery = `SELECT slot_name, active, coalesce(wal_status, ''), coalesce(restart_lsn::text, '0/0'), safe_wal_size
FROM pg_replication_slots WHERE slot_type = 'physical'`
	sendersQuery = `SELECT coalesce(state, '') FROM pg_stat_replication`
)

// PrimaryProbe reads the primary's WAL position and retention.
type PrimaryProbe struct{ db *pgconn.Conn }

// NewPrimaryProbe makes a probe whose calls are bounded by timeout.
func NewPrimaryProbe(db config.Database, timeout time.Duration) *PrimaryProbe {
	return &PrimaryProbe{db: pgconn.New(db, timeout)}
}

// Probe reads the primary; ctx must carry a deadline.
func (p *PrimaryProbe) Probe(ctx context.Context) (PrimaryStatus, error) {
	conn, err := p.db.Get(ctx)
	if err != nil {
		return PrimaryStatus{}, err
	}
	b := &pgx.Batch{}
	for _, q := range PrimaryQueries() {
		b.Queue(q)
	}
	res := conn.SendBatch(ctx, b)
	s, err := readPrimary(res)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return PrimaryStatus{}, p.db.Fail(err)
	}
	return s, nil
}

func readPrimary(res pgx.BatchResults) (PrimaryStatus, error) {
	var (
		s      PrimaryStatus
		flush  string
		oldest sql.NullString
		seg    int64
		keep   int64
	)
	if err := res.QueryRow().Scan(&flush, &seg, &keep, &oldest, &s.At); err != nil {
		return s, err
	}
	var err error
	if s.FlushLSN, err = ParseLSN(flush); err != nil {
		return s, err
	}
	s.SegmentSize, s.WALKeepBytes = uint64(seg), uint64(keep)
	if oldest.Valid {
		// The timeline is irrelevant to the position; any will do for parsing.
		if _, s.OldestSegment, err = ParseSegmentName("00000001"+oldest.String, s.SegmentSize); err != nil {
			return s, err
		}
		s.HasOldest = true
	}
	rows, err := res.Query()
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var sl Slot
		var restart string
		if err := rows.Scan(&sl.Name, &sl.Active, &sl.WALStatus, &restart, &sl.SafeWALSize); err != nil {
			rows.Close()
			return s, err
		}
		if sl.RestartLSN, err = ParseLSN(restart); err != nil {
			rows.Close()
			return s, fmt.Errorf("slot %s: %w", sl.Name, err)
		}
		s.Slots = append(s.Slots, sl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	rows, err = res.Query()
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var se Sender
		if err := rows.Scan(&se.State); err != nil {
			rows.Close()
			return s, err
		}
		s.Senders = append(s.Senders, se)
	}
	rows.Close()
	return s, rows.Err()
}

// PrimaryQueries are sent together as one batch, in this order.
func PrimaryQueries() []string { return []string{primaryQuery, slotsQuery, sendersQuery} }

// RoundTrips counts requests sent to the primary so far.
func (p *PrimaryProbe) RoundTrips() int64 { return p.db.RoundTrips() }

// Close releases the connection.
func (p *PrimaryProbe) Close() { p.db.Close() }
