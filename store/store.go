// Package store keeps the exporter's state across restarts in one bbolt
// file under --storage.path: tracked certificates and their clocks,
// per-origin answers, source positions. A store that cannot be opened is
// set aside and replaced by a fresh one, or, if even that fails, the
// exporter runs without persistence: a log line and a metric, never a
// crash loop.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/certstatus/certstatus_exporter/internal/target"
)

// FileName is the store's file inside the storage path.
const FileName = "certstatus.db"

// Store is the persisted state. A nil *Store, or one opened without a file,
// persists nothing and loads nothing.
type Store struct {
	logger *slog.Logger
	path   string
	db     *bolt.DB // nil: running without persistence

	mu        sync.Mutex
	fresh     bool // started afresh: the old file was unusable
	lastWrite time.Time
	errors    map[string]float64 // by operation
}

var (
	storeUp        = target.Desc("store_up", "Whether state is being persisted under --storage.path.")
	storeFresh     = target.Desc("store_fresh_start", "Whether the store was unusable at start and state began afresh.")
	storeLastWrite = target.Desc("store_last_write_timestamp_seconds", "Unix time of the last successful write to the store.")
	storeErrors    = target.Desc("store_errors_total", "Failed store operations by operation.", "op")
)

// Operations, the op label.
const (
	OpOpen  = "open"
	OpLoad  = "load"
	OpWrite = "write"
)

// Open opens (or creates) the store under dir. It never fails: what goes
// wrong is logged and exported, and the exporter runs on.
func Open(dir string, logger *slog.Logger) *Store {
	s := &Store{logger: logger, path: filepath.Join(dir, FileName), errors: map[string]float64{OpOpen: 0, OpLoad: 0, OpWrite: 0}}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		s.fail(OpOpen)
		logger.Error("storage path unusable; state will not survive a restart", "path", dir, "err", err)
		return s
	}
	db, err := s.open()
	if err != nil && damaged(err) {
		s.fail(OpOpen)
		aside := fmt.Sprintf("%s.unusable-%d", s.path, time.Now().Unix())
		if rerr := os.Rename(s.path, aside); rerr == nil {
			logger.Error("store unusable; set aside, starting afresh", "file", s.path, "moved_to", aside, "err", err)
			s.fresh = true
			db, err = s.open()
		}
	}
	if err != nil {
		s.fail(OpOpen)
		logger.Error("cannot open the store; state will not survive a restart", "file", s.path, "err", err)
		return s
	}
	s.db = db
	return s
}

func (s *Store) open() (db *bolt.DB, err error) {
	// A damaged file can make bbolt panic rather than fail; that too is an
	// unusable store, not a crash.
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, errDamaged{fmt.Errorf("%v", r)}
		}
	}()
	// A second exporter on the same path waits a second for the lock, then
	// runs without persistence rather than hanging.
	db, err = bolt.Open(s.path, 0o640, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	// bbolt checks its meta pages at open; a page-level check catches a
	// file damaged elsewhere before the first read panics on it.
	if err := db.View(func(tx *bolt.Tx) error {
		// Drained whole: the checker stops only when its channel is read to
		// the end, and must not outlive the transaction.
		var first error
		for e := range tx.Check() {
			if first == nil {
				first = errDamaged{e}
			}
		}
		return first
	}); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// errDamaged is a file bbolt cannot use as it is: set aside, start afresh.
type errDamaged struct{ err error }

func (e errDamaged) Error() string { return "damaged store: " + e.err.Error() }

// damaged tells a file that is broken (set it aside) from one that is only
// locked by another process or not ours to open (leave it alone and run
// without persistence).
func damaged(err error) bool {
	var d errDamaged
	return errors.As(err, &d) || errors.Is(err, bolterrors.ErrInvalid) ||
		errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum)
}

func (s *Store) fail(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[op]++
}

// Persistent reports whether state is written to disk.
func (s *Store) Persistent() bool { return s != nil && s.db != nil }

// Load calls fn for every key of bucket, in key order. fn must copy what it
// keeps: the slices are valid only during the call.
func (s *Store) Load(bucket string, fn func(k, v []byte) error) error {
	if !s.Persistent() {
		return nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(fn)
	})
	if err != nil {
		s.fail(OpLoad)
		s.logger.Error("cannot load from the store", "bucket", bucket, "err", err)
	}
	return err
}

// Batch is a set of writes to one bucket, applied in one transaction.
type Batch struct {
	Bucket  string
	Put     map[string][]byte
	Delete  []string
	Replace bool // delete everything else in the bucket first
}

// Write applies batches atomically: all of them or none (bbolt fsyncs at
// commit, so a crash leaves the previous state).
func (s *Store) Write(batches ...Batch) error {
	if !s.Persistent() {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range batches {
			if err := apply(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors[OpWrite]++
		s.logger.Error("cannot write to the store", "err", err)
		return err
	}
	s.lastWrite = time.Now()
	return nil
}

func apply(tx *bolt.Tx, b Batch) error {
	if b.Replace {
		if err := tx.DeleteBucket([]byte(b.Bucket)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
	}
	bk, err := tx.CreateBucketIfNotExists([]byte(b.Bucket))
	if err != nil {
		return err
	}
	for k, v := range b.Put {
		if err := bk.Put([]byte(k), v); err != nil {
			return err
		}
	}
	for _, k := range b.Delete {
		if err := bk.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	if !s.Persistent() {
		return nil
	}
	return s.db.Close()
}

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeUp, storeFresh, storeLastWrite, storeErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- target.BoolGauge(storeUp, s.db != nil)
	ch <- target.BoolGauge(storeFresh, s.fresh)
	if !s.lastWrite.IsZero() {
		ch <- target.Gauge(storeLastWrite, target.Unix(s.lastWrite))
	}
	for _, op := range []string{OpOpen, OpLoad, OpWrite} {
		ch <- prometheus.MustNewConstMetric(storeErrors, prometheus.CounterValue, s.errors[op], op)
	}
}
