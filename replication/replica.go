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
	// ReceiveLSN is the last WAL position received and flushed; valid when
	// HasReceive (NULL before the WAL receiver first ran).
	ReceiveLSN LSN
	HasReceive bool
	ReplayLSN  LSN
	// LastReplay is the commit time of the last replayed transaction (zero if none).
	LastReplay   time.Time
	ReplayPaused bool
	// ReceiverStatus is pg_stat_wal_receiver.status, "" when no receiver runs.
	ReceiverStatus string
	// LastMessageAge is how long ago the receiver last heard from the sender.
	LastMessageAge    time.Duration
	HasLastMessageAge bool
	// At is the replica's clock when the row was read.
	At time.Time
}

// Streaming reports whether the WAL receiver is streaming.
func (s ReplicaStatus) Streaming() bool { return s.ReceiverStatus == "streaming" }

// Position is where the replica would resume streaming from.
func (s ReplicaStatus) Position() LSN {
	if s.HasReceive && s.ReceiveLSN > s.ReplayLSN {
		return s.ReceiveLSN
	}
	return s.ReplayLSN
}

// ErrNotInRecovery: the "replica" is a primary (promoted, or misconfigured).
var ErrNotInRecovery = errors.New("server is not in recovery: it is not a replica")

// ReplicaQuery is the replica probe's only query: one round trip. Functions rather than pg_stat_wal_receiver's LSN columns,
// which were renamed in PostgreSQL 14 (received_lsn -> flushed_lsn); valid on 13-17.
const ReplicaQuery = `SELECT pg_is_in_recovery(),
  pg_last_wal_receive_lsn()::text,
  pg_last_wal_replay_lsn()::text,
  pg_last_xact_replay_timestamp(),
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
  r.status,
  extract(epoch FROM clock_timestamp() - r.last_msg_receipt_time)::float8,
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
	var (
		s               ReplicaStatus
		inRecovery      bool
		receive, replay sql.NullString
		lastReplay      sql.NullTime
		status          sql.NullString
		lastMsgAge      sql.NullFloat64
	)
	err = conn.QueryRow(ctx, ReplicaQuery).Scan(&inRecovery, &receive, &replay, &lastReplay,
		&s.ReplayPaused, &status, &lastMsgAge, &s.At)
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
	return s, nil
}

// RoundTrips counts requests sent to this replica so far.
func (p *ReplicaProbe) RoundTrips() int64 { return p.db.RoundTrips() }

// Close releases the connection.
func (p *ReplicaProbe) Close() { p.db.Close() }
