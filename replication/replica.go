package replication

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// ReplicaStatus is what one standby says about itself.
type ReplicaStatus struct {
	// Version is server_version_num.
	Version int
	// ReceiveLSN is the last WAL position received and flushed; valid when
	// HasReceive (NULL before the WAL receiver first ran).
	ReceiveLSN LSN
	HasReceive bool
	ReplayLSN  LSN
	// LastReplay is the commit time of the last replayed transaction (zero if none).
	LastReplay   time.Time
	ReplayPaused bool
	// ReceiverRunning: a WAL receiver process exists (its pid is visible to
	// every role).
	ReceiverRunning bool
	// ReceiverStatus is pg_stat_wal_receiver.status, "" when no receiver runs
	// or when the role may not see it (it lacks pg_read_all_stats).
	ReceiverStatus string
	// LastMessageAge is how long ago the receiver last heard from the sender.
	LastMessageAge    time.Duration
	HasLastMessageAge bool
	// RestoreCommand: restore_command is set, so WAL the upstream removed
	// may still come from an archive.
	RestoreCommand bool
	// The replica's own WAL retention, which matters when it is the
	// upstream of a cascading replica.
	SegmentSize   uint64
	WALKeepBytes  uint64
	OldestSegment LSN
	HasOldest     bool
	// At is the replica's clock when the row was read.
	At time.Time
}

// Streaming reports whether the WAL receiver is streaming; known is false
// when a receiver runs but its status is hidden from the monitoring role
// (no pg_read_all_stats): that is not "not streaming".
func (s ReplicaStatus) Streaming() (streaming, known bool) {
	if s.ReceiverRunning && s.ReceiverStatus == "" {
		return false, false
	}
	return s.ReceiverStatus == "streaming", true
}

// Position is where the replica would resume streaming from.
func (s ReplicaStatus) Position() LSN {
	if s.HasReceive && s.ReceiveLSN > s.ReplayLSN {
		return s.ReceiveLSN
	}
	return s.ReplayLSN
}

// asUpstream describes this replica as the upstream of a cascading one: a
// standby sends what it has received, and removes WAL at its restartpoints
// by the same rule as a primary at its checkpoints.
func (s ReplicaStatus) asUpstream() *PrimaryStatus {
	return &PrimaryStatus{Version: s.Version, FlushLSN: s.Position(), SegmentSize: s.SegmentSize,
		WALKeepBytes: s.WALKeepBytes, OldestSegment: s.OldestSegment, HasOldest: s.HasOldest, At: s.At}
}

// ErrNotInRecovery: the "replica" is a primary (promoted, or misconfigured).
var ErrNotInRecovery = errors.New("server is not in recovery: it is not a replica")

// ReplicaQuery is the replica probe's only query: one round trip, the same
// on 13-18. Functions rather than pg_stat_wal_receiver's LSN columns, which
// 14 renamed (received_lsn -> written_lsn, flushed_lsn). Without
// pg_read_all_stats every column but pid reads NULL.
const ReplicaQuery = `SELECT pg_is_in_recovery(),
  pg_last_wal_receive_lsn()::text,
  pg_last_wal_replay_lsn()::text,
  pg_last_xact_replay_timestamp(),
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
  r.pid IS NOT NULL,
  r.status,
  extract(epoch FROM clock_timestamp() - r.last_msg_receipt_time)::float8,
  current_setting('restore_command') <> '',
  pg_size_bytes(current_setting('wal_segment_size')),
  pg_size_bytes(current_setting('wal_keep_size')),
  (SELECT min(substr(name, 9)) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'),
  clock_timestamp()
FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver r ON true`

// ReplicaProbe reads one replica's recovery state.
type ReplicaProbe struct{ db *pgconn.Conn }

// NewReplicaProbe makes a probe whose calls are bounded by timeout.
func NewReplicaProbe(db config.Database, timeout time.Duration) *ReplicaProbe {
	return &ReplicaProbe{db: pgconn.New(db, timeout)}
}

// Probe reads the replica; ctx must carry a deadline.
func (p *ReplicaProbe) Probe(ctx context.Context) (ReplicaStatus, error) {
	conn, err := p.db.Get(ctx)
	if err != nil {
		return ReplicaStatus{}, err
	}
	var s ReplicaStatus
	if s.Version, err = pgconn.ServerVersion(conn); err == nil {
		err = pgconn.RequireVersion(s.Version, MinMajorVersion)
	}
	if err != nil {
		return ReplicaStatus{}, p.db.Fail(err)
	}
	var (
		inRecovery      bool
		receive, replay sql.NullString
		lastReplay      sql.NullTime
		status, oldest  sql.NullString
		lastMsgAge      sql.NullFloat64
		seg, keep       int64
	)
	err = conn.QueryRow(ctx, ReplicaQuery).Scan(&inRecovery, &receive, &replay, &lastReplay,
		&s.ReplayPaused, &s.ReceiverRunning, &status, &lastMsgAge, &s.RestoreCommand, &seg, &keep, &oldest, &s.At)
	if err != nil {
		return ReplicaStatus{}, p.db.Fail(err)
	}
	if !inRecovery || !replay.Valid {
		return ReplicaStatus{}, &pgconn.ProbeError{Reason: pgconn.ReasonNotInRecovery, Err: ErrNotInRecovery}
	}
	if s.ReplayLSN, err = ParseLSN(replay.String); err != nil {
		return ReplicaStatus{}, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: err}
	}
	if receive.Valid {
		if s.ReceiveLSN, err = ParseLSN(receive.String); err != nil {
			return ReplicaStatus{}, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: err}
		}
		s.HasReceive = true
	}
	if lastReplay.Valid {
		s.LastReplay = lastReplay.Time
	}
	s.ReceiverStatus = status.String
	if lastMsgAge.Valid {
		s.LastMessageAge = time.Duration(max(lastMsgAge.Float64, 0) * float64(time.Second))
		s.HasLastMessageAge = true
	}
	s.SegmentSize, s.WALKeepBytes = uint64(seg), uint64(keep)
	if oldest.Valid {
		if _, s.OldestSegment, err = ParseSegmentName("00000001"+oldest.String, s.SegmentSize); err != nil {
			return ReplicaStatus{}, &pgconn.ProbeError{Reason: pgconn.ReasonQuery, Err: err}
		}
		s.HasOldest = true
	}
	return s, nil
}

// RoundTrips counts requests sent to this replica so far.
func (p *ReplicaProbe) RoundTrips() int64 { return p.db.RoundTrips() }

// Close releases the connection.
func (p *ReplicaProbe) Close() { p.db.Close() }
