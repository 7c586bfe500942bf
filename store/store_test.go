package store

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

func load(t *testing.T, s *Store, bucket string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := s.Load(bucket, func(k, v []byte) error { got[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// What is written survives closing and opening again; Replace drops the rest.
func TestWriteReopenLoad(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir, quiet)
	if !s.Persistent() {
		t.Fatal("a fresh directory did not give a persistent store")
	}
	if err := s.Write(Batch{Bucket: "certs", Put: map[string][]byte{"a": []byte("1"), "b": []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(Batch{Bucket: "certs", Delete: []string{"a"}}, Batch{Bucket: "pos", Put: map[string][]byte{"src": []byte("9")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = Open(dir, quiet)
	defer s.Close()
	if got := load(t, s, "certs"); len(got) != 1 || got["b"] != "2" {
		t.Errorf("certs after reopen: %v, want only b=2", got)
	}
	if err := s.Write(Batch{Bucket: "pos", Replace: true, Put: map[string][]byte{"other": []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if got := load(t, s, "pos"); len(got) != 1 || got["other"] != "1" {
		t.Errorf("pos after replace: %v", got)
	}
	if got := load(t, s, "missing"); len(got) != 0 {
		t.Errorf("missing bucket loaded %v", got)
	}
}

// A damaged file is set aside: the exporter starts afresh and says so.
func TestDamagedFileStartsAfresh(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a bbolt file ", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Open(dir, quiet)
	defer s.Close()
	if !s.Persistent() {
		t.Fatal("no fresh store after a damaged one")
	}
	aside, _ := filepath.Glob(filepath.Join(dir, FileName+".unusable-*"))
	if len(aside) != 1 {
		t.Errorf("damaged file not set aside: %v", aside)
	}
	expect(t, s, `
# HELP certstatus_store_errors_total Failed store operations by operation.
# TYPE certstatus_store_errors_total counter
certstatus_store_errors_total{op="load"} 0
certstatus_store_errors_total{op="open"} 1
certstatus_store_errors_total{op="write"} 0
# HELP certstatus_store_fresh_start Whether the store was unusable at start and state began afresh.
# TYPE certstatus_store_fresh_start gauge
certstatus_store_fresh_start 1
# HELP certstatus_store_up Whether state is being persisted under --storage.path.
# TYPE certstatus_store_up gauge
certstatus_store_up 1
`)
}

// A path that cannot hold the store: no persistence, no crash, a metric.
func TestUnusablePathRunsWithoutPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := Open(filepath.Join(file, "data"), quiet) // a directory under a file
	if s.Persistent() {
		t.Fatal("persistent under a file")
	}
	if err := s.Write(Batch{Bucket: "x", Put: map[string][]byte{"k": nil}}); err != nil {
		t.Errorf("write without persistence: %v", err)
	}
	expect(t, s, `
# HELP certstatus_store_up Whether state is being persisted under --storage.path.
# TYPE certstatus_store_up gauge
certstatus_store_up 0
`, "certstatus_store_up")
}

func expect(t *testing.T, s *Store, want string, names ...string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// A store held by another exporter (bbolt's file lock) is left alone: the
// second runs without persistence rather than setting a healthy file aside.
func TestLockedStoreIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	first := Open(dir, quiet)
	defer first.Close()
	if err := first.Write(Batch{Bucket: "b", Put: map[string][]byte{"k": []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	second := Open(dir, quiet)
	if second.Persistent() {
		t.Fatal("two stores on one file")
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, FileName+".unusable-*")); len(aside) != 0 {
		t.Fatalf("a locked, healthy store was set aside: %v", aside)
	}
	if got := load(t, first, "b"); got["k"] != "v" {
		t.Errorf("first store lost its data: %v", got)
	}
}
