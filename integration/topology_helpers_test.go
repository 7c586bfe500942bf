package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

const segSize = 16 << 20 // the lab's wal_segment_size

// labReplica is one lab node in an exporter config.
type labReplica struct {
	name, slot, upstream string
}

// topologyConfig is a config for the lab's primary and the given nodes
// (lab.env key LAB_REPLICA_<X>_DSN or LAB_REPLICA<N>_DSN).
func topologyConfig(t *testing.T, lab *labtest.Lab, replicas ...labReplica) *config.Config {
	t.Helper()
	e := lab.Env
	var b strings.Builder
	fmt.Fprintf(&b, "primary: {dsn: %q, password_file: %s}\nreplicas:\n", e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"])
	for _, r := range replicas {
		key := "LAB_REPLICA_" + strings.ToUpper(strings.TrimPrefix(r.name, "replica-")) + "_DSN"
		if n := strings.TrimPrefix(r.name, "replica-"); n == "1" || n == "2" {
			key = "LAB_REPLICA" + n + "_DSN"
		}
		if e[key] == "" {
			t.Skipf("the lab has no %s (LAB_TOPOLOGY=%q)", r.name, e["LAB_TOPOLOGY"])
		}
		fmt.Fprintf(&b, "  - {name: %s, dsn: %q, password_file: %s", r.name, e[key], e["LAB_PASSWORD_FILE"])
		if r.slot != "" {
			fmt.Fprintf(&b, ", slot: %s", r.slot)
		}
		if r.upstream != "" {
			fmt.Fprintf(&b, ", upstream: %s", r.upstream)
		}
		b.WriteString("}\n")
	}
	b.WriteString("replication: {interval: 1s, timeout: 500ms, rate_window: 10s, history: 10m}\n")
	path := filepath.Join(t.TempDir(), "certstatus.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	return cfg
}

// primaryLSN is the primary's flush position, read directly.
func primaryLSN(t *testing.T, lab *labtest.Lab) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(lab.SQL(t, "primary", "SELECT pg_current_wal_flush_lsn() - '0/0'"), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// settle waits until the exporter has seen the primary at or past lsn and
// replica has been probed after that, so the replica's view uses it.
func settle(t *testing.T, reg prometheus.Gatherer, replica string, lsn float64) {
	t.Helper()
	var seen float64
	eventually(t, 10*time.Second, "exporter sees the primary's position", func() error {
		if v, _ := value(t, reg, "certstatus_primary_wal_position_bytes"); v < lsn {
			return fmt.Errorf("primary position %v < %v", v, lsn)
		}
		seen = float64(time.Now().UnixNano()) / 1e9
		return nil
	})
	eventually(t, 10*time.Second, replica+" probed after that", func() error {
		if v := must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "replica", "target", replica); v <= seen {
			return fmt.Errorf("last success %v <= %v", v, seen)
		}
		return nil
	})
}

// cut stops a replica's WAL receiver (it stays up) and waits until the
// exporter says it is not streaming; the returned func undoes it.
func cut(t *testing.T, lab *labtest.Lab, reg prometheus.Gatherer, replica string) {
	t.Helper()
	eventually(t, 15*time.Second, replica+" streaming before the cut", func() error {
		if v, _ := value(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", replica); v != 1 {
			return fmt.Errorf("streaming = %v", v)
		}
		return nil
	})
	lab.Run(t, "cut", replica)
	eventually(t, 15*time.Second, replica+" not streaming", func() error {
		if v := must(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", replica); v != 0 {
			return fmt.Errorf("streaming = %v", v)
		}
		return nil
	})
}

// freezeCheckpointer stops the primary's checkpointer: no checkpoint (and
// so no WAL removal) happens until it is thawed.
func freezeCheckpointer(t *testing.T, lab *labtest.Lab) (thaw func()) {
	t.Helper()
	lab.Run(t, "freeze-checkpointer", "primary")
	thawed := false
	thaw = func() {
		if !thawed {
			lab.Run(t, "thaw-checkpointer", "primary")
			thawed = true
		}
	}
	t.Cleanup(thaw)
	return thaw
}

// waitArchived waits until the primary's archiver has archived every
// finished segment (a checkpoint removes only archived segments).
func waitArchived(t *testing.T, lab *labtest.Lab) {
	t.Helper()
	if !lab.Has("archive") {
		return
	}
	eventually(t, 20*time.Second, "archiver caught up", func() error {
		n := lab.SQL(t, "primary", "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")
		if n != "0" {
			return fmt.Errorf("%s segments wait for the archiver", n)
		}
		return nil
	})
}
