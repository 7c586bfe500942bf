// Package pgconn is the exporter's connection to a monitored PostgreSQL
// server: one long-lived connection, every call bounded by a deadline, and
// failures classified into a small fixed set of reasons.
package pgconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	pgxconn "github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/certstatus/certstatus_exporter/config"
)

// Failure reasons: a small fixed set, used as a metric label.
const (
	ReasonConnect       = "connect"
	ReasonAuth          = "auth"
	ReasonTimeout       = "timeout"
	ReasonQuery         = "query"
	ReasonNotInRecovery = "not_in_recovery"
	// ReasonUnsupportedVersion: the server is older than the probe supports.
	ReasonUnsupportedVersion = "unsupported_version"
	ReasonOther              = "other"
)

// FailureReasons lists every reason, so metrics can be pre-declared.
func FailureReasons() []string {
	return []string{ReasonConnect, ReasonAuth, ReasonTimeout, ReasonQuery, ReasonNotInRecovery, ReasonUnsupportedVersion, ReasonOther}
}

// ProbeError is a failed probe with its bounded reason.
type ProbeError struct {
	Reason string
	Err    error
}

func (e *ProbeError) Error() string { return config.Scrub(e.Err.Error()) }
func (e *ProbeError) Unwrap() error { return e.Err }

// Reason classifies any error into one of FailureReasons.
func Reason(err error) string {
	var pe *ProbeError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return classify(err)
}

func classify(err error) string {
	var pgErr *pgxconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		return ReasonAuth
	case pgxconn.Timeout(err):
		return ReasonTimeout
	case isConnectError(err):
		return ReasonConnect
	case errors.As(err, &pgErr):
		return ReasonQuery
	}
	return ReasonOther
}

func isConnectError(err error) bool {
	var ce *pgxconn.ConnectError
	return errors.As(err, &ce)
}

// Conn is one long-lived connection to a monitored database, reopened after
// any failure. Every use is bounded by the caller's context deadline, and
// statement_timeout bounds the server side too.
type Conn struct {
	db      config.Database
	timeout time.Duration
	conn    *pgx.Conn
	// roundTrips counts request flushes to the server and bytesRead the
	// bytes received from it, for the benchmarks.
	roundTrips atomic.Int64
	bytesRead  atomic.Int64
}

// New returns a connection, opened at first use, whose calls are bounded by
// timeout on both sides.
func New(db config.Database, timeout time.Duration) *Conn {
	return &Conn{db: db, timeout: timeout}
}

// Get returns the open connection, connecting if needed; ctx must carry a
// deadline.
func (c *Conn) Get(ctx context.Context) (*pgx.Conn, error) {
	if c.conn != nil && !c.conn.IsClosed() {
		return c.conn, nil
	}
	cfg, err := pgx.ParseConfig(c.db.DSN)
	if err != nil {
		return nil, &ProbeError{ReasonOther, errors.New("cannot parse DSN")}
	}
	if c.db.PasswordFile != "" {
		// Read at every connect, so a rotated password is picked up.
		if cfg.Password, err = config.ReadPasswordFile(c.db.PasswordFile); err != nil {
			return nil, &ProbeError{ReasonAuth, err}
		}
	}
	cfg.ConnectTimeout = c.timeout
	cfg.RuntimeParams["application_name"] = "certstatus_exporter"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(c.timeout.Milliseconds(), 10)
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	// No server-side prepared statements: one round trip per query or batch,
	// and it works through transaction-mode poolers.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	// On a deadline, just fail the socket: no CancelRequest on a new
	// connection to a server that may be frozen; statement_timeout ends the
	// server's side.
	cfg.BuildContextWatcherHandler = func(pc *pgxconn.PgConn) ctxwatch.Handler {
		return &pgxconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: nc, writes: &c.roundTrips, read: &c.bytesRead}, nil
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &ProbeError{classifyConnect(err), fmt.Errorf("connect: %w", err)}
	}
	c.conn = conn
	return conn, nil
}

func classifyConnect(err error) string {
	if r := classify(err); r == ReasonAuth || r == ReasonTimeout {
		return r
	}
	return ReasonConnect
}

// Fail drops the connection after an error so the next probe reconnects.
func (c *Conn) Fail(err error) error {
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = c.conn.Close(ctx)
		cancel()
		c.conn = nil
	}
	var pe *ProbeError
	if errors.As(err, &pe) {
		return err
	}
	return &ProbeError{classify(err), err}
}

// Close releases the connection.
func (c *Conn) Close() {
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.conn.Close(ctx)
		c.conn = nil
	}
}

// RoundTrips is how many requests were flushed to the server so far.
func (c *Conn) RoundTrips() int64 { return c.roundTrips.Load() }

// BytesRead is how many bytes were received from the server so far, on
// every connection this Conn opened.
func (c *Conn) BytesRead() int64 { return c.bytesRead.Load() }

// countingConn counts writes (pgx flushes one buffer per query or batch) and
// the bytes read.
type countingConn struct {
	net.Conn
	writes, read *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}
