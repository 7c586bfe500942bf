package replication

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// MinMajorVersion is the oldest PostgreSQL the probes support: 13 brought
// wal_keep_size and the slots' wal_status and safe_wal_size.
const MinMajorVersion = 13

// PrimaryStatus is what the primary says about its WAL and its standbys.
type PrimaryStatus struct {
	// Version is server_version_num.
	Version int
	// FlushLSN is pg_current_wal_flush_lsn(): the most a standby can have.
	FlushLSN     LSN
	SegmentSize  uint64
	WALKeepBytes uint64
	// OldestSegment is the start of the oldest WAL segment still in pg_wal;
	// valid when HasOldest.
	OldestSegment LSN
	HasOldest     bool
	Archiver      Archiver
	// Checkpoints counts checkpoints since the statistics were reset.
	Checkpoints float64
	Slots       []Slot
	Senders     []Sender
	At          time.Time
}

// RetainedBytes is how much WAL pg_wal holds behind the flush position.
func (s PrimaryStatus) RetainedBytes() uint64 { return s.FlushLSN.Minus(s.OldestSegment) }

// Archiver is the primary's WAL archiving (pg_stat_archiver).
type Archiver struct {
	// Enabled: archive_mode is on or always.
	Enabled bool
	// LastArchivedEnd is the end of the last archived segment; valid when
	// HasArchived (a .history or .partial file is not a segment).
	LastArchivedEnd LSN
	HasArchived     bool
	LastArchived    time.Time // zero if never
	LastFailed      time.Time // zero if never
	Failures        float64
}

// Slot is one physical replication slot.
type Slot struct {
	Name       string
	Active     bool
	WALStatus  string // reserved, extended, unreserved, lost ("" on a fresh slot)
	RestartLSN LSN
	// SafeWALSize is how much more WAL may be written before the slot loses
	// WAL; nil when retention is unlimited (max_slot_wal_keep_size = -1).
	SafeWALSize *int64
	// InactiveSince is when the slot was last released (17+); zero if active or unknown.
	InactiveSince time.Time
	// InvalidationReason says why the slot was invalidated (17+), "" if it is not.
	InvalidationReason string
}

// Sender is one pg_stat_replication row.
type Sender struct {
	ApplicationName string
	State           string
	// SyncState is async, potential, sync or quorum.
	SyncState string
}

// The queries, sent together as one batch: one round trip. pg_ls_waldir()
// needs pg_monitor; pg_stat_archiver and the setting are readable by all.
const (
	primaryQuery = `SELECT pg_current_wal_flush_lsn()::text,
  pg_size_bytes(current_setting('wal_segment_size')),
  pg_size_bytes(current_setting('wal_keep_size')),
  (SELECT min(substr(name, 9)) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'),
  clock_timestamp(),
  current_setting('archive_mode') IN ('on', 'always'),
  a.last_archived_wal, a.last_archived_time, a.last_failed_time, a.failed_count
FROM pg_stat_archiver a`
	// 17 moved the checkpoint counters from pg_stat_bgwriter to pg_stat_checkpointer.
	checkpointsQuery13 = `SELECT (checkpoints_timed + checkpoints_req)::float8 FROM pg_stat_bgwriter`
	checkpointsQuery17 = `SELECT (num_timed + num_requested)::float8 FROM pg_stat_checkpointer`
	slotsQuery13       = `SELECT slot_name, active, coalesce(wal_status, ''), coalesce(restart_lsn::text, '0/0'), safe_wal_size,
  NULL::timestamptz, NULL::text
FROM pg_replication_slots WHERE slot_type = 'physical'`
	// 17 added inactive_since and invalidation_reason.
	slotsQuery17 = `SELECT slot_name, active, coalesce(wal_status, ''), coalesce(restart_lsn::text, '0/0'), safe_wal_size,
  inactive_since, invalidation_reason
FROM pg_replication_slots WHERE slot_type = 'physical'`
	sendersQuery = `SELECT coalesce(application_name, ''), coalesce(state, ''), coalesce(sync_state, '') FROM pg_stat_replication`
)

// PrimaryQueries are the queries for a server version (server_version_num),
// sent together as one batch, in this order.
func PrimaryQueries(version int) []string {
	if version >= 170000 {
		return []string{primaryQuery, checkpointsQuery17, slotsQuery17, sendersQuery}
	}
	return []string{primaryQuery, checkpointsQuery13, slotsQuery13, sendersQuery}
}

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
	version, err := pgconn.ServerVersion(conn)
	if err == nil {
		err = pgconn.RequireVersion(version, MinMajorVersion)
	}
	if err != nil {
		return PrimaryStatus{}, p.db.Fail(err)
	}
	b := &pgx.Batch{}
	for _, q := range PrimaryQueries(version) {
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
	s.Version = version
	return s, nil
}

func readPrimary(res pgx.BatchResults) (PrimaryStatus, error) {
	var (
		s                        PrimaryStatus
		flush                    string
		oldest, lastWAL          sql.NullString
		seg, keep                int64
		lastArchived, lastFailed sql.NullTime
	)
	a := &s.Archiver
	if err := res.QueryRow().Scan(&flush, &seg, &keep, &oldest, &s.At,
		&a.Enabled, &lastWAL, &lastArchived, &lastFailed, &a.Failures); err != nil {
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
	if lastWAL.Valid {
		a.LastArchivedEnd, a.HasArchived = archivedEnd(lastWAL.String, s.SegmentSize)
	}
	a.LastArchived, a.LastFailed = lastArchived.Time, lastFailed.Time
	if err := res.QueryRow().Scan(&s.Checkpoints); err != nil {
		return s, err
	}
	if s.Slots, err = readSlots(res); err != nil {
		return s, err
	}
	rows, err := res.Query()
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var se Sender
		if err := rows.Scan(&se.ApplicationName, &se.State, &se.SyncState); err != nil {
			rows.Close()
			return s, err
		}
		s.Senders = append(s.Senders, se)
	}
	rows.Close()
	return s, rows.Err()
}

func readSlots(res pgx.BatchResults) ([]Slot, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var slots []Slot
	for rows.Next() {
		var (
			sl            Slot
			restart       string
			inactiveSince sql.NullTime
			reason        sql.NullString
		)
		if err := rows.Scan(&sl.Name, &sl.Active, &sl.WALStatus, &restart, &sl.SafeWALSize, &inactiveSince, &reason); err != nil {
			return nil, err
		}
		if sl.RestartLSN, err = ParseLSN(restart); err != nil {
			return nil, fmt.Errorf("slot %s: %w", sl.Name, err)
		}
		sl.InactiveSince, sl.InvalidationReason = inactiveSince.Time, reason.String
		slots = append(slots, sl)
	}
	return slots, rows.Err()
}

// RoundTrips counts requests sent to the primary so far.
func (p *PrimaryProbe) RoundTrips() int64 { return p.db.RoundTrips() }

// Close releases the connection.
func (p *PrimaryProbe) Close() { p.db.Close() }

// archivedEnd is how far the archive holds WAL after archiving the file
// name: a whole segment, or, for the partial segment a promotion leaves
// (NAME.partial), only up to its start. A timeline's .history file says
// nothing about positions.
func archivedEnd(name string, segSize uint64) (LSN, bool) {
	partial := strings.HasSuffix(name, ".partial")
	_, start, err := ParseSegmentName(strings.TrimSuffix(name, ".partial"), segSize)
	if err != nil {
		return 0, false
	}
	if partial {
		return start, true
	}
	return start + LSN(segSize), true
}
