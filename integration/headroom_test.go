package integration

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// Issue 10 "must show": replica-2 cut, WAL written with no checkpoint: the
// headroom falls by the bytes written (± one segment) although pg_wal has
// not changed; a CHECKPOINT while headroom is left keeps the replica's
// segment, one after it reached 0 removes it.
func TestReplicationHeadroomByPostgresRule(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-2"}))
	t.Cleanup(func() { lab.Run(t, "rebuild", "replica-2") })
	cut(t, lab, reg, "replica-2")
	thaw := freezeCheckpointer(t, lab)

	checkpoints := must(t, reg, "certstatus_primary_checkpoints_total")
	before := primaryLSN(t, lab)
	settle(t, reg, "replica-2", before)
	h0 := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-2")
	if h0 <= 8<<20 {
		t.Fatalf("headroom %v before writing; the lab keeps 32MB, want more than 8MB", h0)
	}

	lab.WriteWAL(t, 6)
	after := primaryLSN(t, lab)
	settle(t, reg, "replica-2", after)
	h1 := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-2")
	written := after - before
	t.Logf("wrote %.0f bytes of WAL: headroom %.0f -> %.0f", written, h0, h1)
	if math.Abs((h0-h1)-written) > segSize {
		t.Errorf("headroom fell by %.0f after %.0f bytes were written, want that ± one segment", h0-h1, written)
	}
	if c := must(t, reg, "certstatus_primary_checkpoints_total"); c != checkpoints {
		t.Fatalf("a checkpoint ran (%v -> %v) although the checkpointer was frozen", checkpoints, c)
	}
	rate := must(t, reg, "certstatus_primary_wal_rate_bytes_per_second")
	eta := must(t, reg, "certstatus_replica_wal_loss_eta_seconds", "replica", "replica-2")
	if math.IsInf(eta, 1) || eta <= 0 || rate <= 0 {
		t.Errorf("ETA %v at primary rate %v B/s, want finite while the replica is cut and WAL is written", eta, rate)
	}

	// Move to the last segment before the line: headroom left, less than a segment.
	line := after + h1
	for primaryLSN(t, lab) < line-segSize {
		lab.Run(t, "switch-wal", "1")
	}
	pos := primaryLSN(t, lab)
	settle(t, reg, "replica-2", pos)
	h2 := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-2")
	if h2 <= 0 || h2 > segSize {
		t.Fatalf("headroom %v one segment before the line, want in (0, one segment]", h2)
	}
	thaw()
	waitArchived(t, lab)
	lab.SQL(t, "primary", "CHECKPOINT")
	freezeCheckpointer(t, lab)
	settle(t, reg, "replica-2", primaryLSN(t, lab))
	if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-2"); v != 0 {
		t.Fatalf("a CHECKPOINT with %v bytes of headroom left removed the replica's segment (wal_lost %v)", h2, v)
	}

	// Past the line: headroom 0 but still there until the next checkpoint.
	lab.Run(t, "switch-wal", "1")
	settle(t, reg, "replica-2", primaryLSN(t, lab))
	if h := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-2"); h != 0 {
		t.Errorf("headroom %v past the line, want 0", h)
	}
	if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-2"); v != 0 {
		t.Errorf("wal_lost %v before any checkpoint, want 0", v)
	}
	if v := must(t, reg, "certstatus_replica_wal_loss_eta_seconds", "replica", "replica-2"); v != 0 {
		t.Errorf("ETA %v with no headroom, want 0", v)
	}
	lab.Run(t, "thaw-checkpointer", "primary")
	waitArchived(t, lab)
	lab.SQL(t, "primary", "CHECKPOINT")
	eventually(t, 10*time.Second, "the checkpoint removed replica-2's segment", func() error {
		if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-2"); v != 1 {
			return fmt.Errorf("wal_lost = %v", v)
		}
		if v := must(t, reg, "certstatus_replica_wal_unrecoverable", "replica", "replica-2"); v != 1 {
			return fmt.Errorf("unrecoverable = %v (replica-2 has no restore_command)", v)
		}
		return nil
	})
}

// Issue 14 "must show": a physical slot with max_slot_wal_keep_size goes
// reserved -> extended -> unreserved -> lost, safe_wal_size falls to 0,
// and the replica is reported lost.
func TestReplicationSlotStates(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-slot", slot: "replica_slot"}))
	t.Cleanup(func() {
		lab.SQL(t, "primary", "ALTER SYSTEM RESET max_wal_size")
		lab.SQL(t, "primary", "ALTER SYSTEM RESET max_slot_wal_keep_size")
		lab.SQL(t, "primary", "SELECT pg_reload_conf()")
		lab.Run(t, "rebuild", "replica-slot")
	})
	cut(t, lab, reg, "replica-slot")
	// Small limits so that a few segment switches walk every state:
	// reserved within max_wal_size (2 segments + 1), extended within
	// max_slot_wal_keep_size (4 segments), then unreserved until a
	// checkpoint removes the slot's segment.
	lab.SQL(t, "primary", "ALTER SYSTEM SET max_wal_size = '32MB'")
	lab.SQL(t, "primary", "ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'")
	thaw := freezeCheckpointer(t, lab)
	lab.SQL(t, "primary", "SELECT pg_reload_conf()")
	eventually(t, 10*time.Second, "settings applied", func() error {
		if v := lab.SQL(t, "primary", "SHOW max_slot_wal_keep_size"); v != "64MB" {
			return fmt.Errorf("max_slot_wal_keep_size = %s", v)
		}
		return nil
	})

	status := func() string {
		for _, s := range []string{"reserved", "extended", "unreserved", "lost"} {
			if v, _ := value(t, reg, "certstatus_primary_slot_wal_status", "slot", "replica_slot", "status", s); v == 1 {
				return s
			}
		}
		return "?"
	}
	var states []string
	var safes []float64
	for i := 0; i < 12 && status() != "unreserved"; i++ {
		settle(t, reg, "replica-slot", primaryLSN(t, lab))
		s := status()
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
		}
		safes = append(safes, must(t, reg, "certstatus_primary_slot_safe_wal_size_bytes", "slot", "replica_slot"))
		if s == "unreserved" {
			break
		}
		lab.Run(t, "switch-wal", "1")
	}
	t.Logf("slot states %v, safe_wal_size %v", states, safes)
	if fmt.Sprint(states) != "[reserved extended unreserved]" {
		t.Fatalf("slot went through %v, want [reserved extended unreserved]", states)
	}
	if !decreasing(safes) || safes[len(safes)-1] > 0 {
		t.Errorf("safe_wal_size %v, want falling to <= 0", safes)
	}
	if h := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-slot"); h != 0 {
		t.Errorf("unreserved: headroom %v, want 0", h)
	}
	if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-slot"); v != 0 {
		t.Errorf("unreserved: wal_lost %v before a checkpoint, want 0", v)
	}

	thaw()
	waitArchived(t, lab)
	lab.SQL(t, "primary", "CHECKPOINT")
	eventually(t, 10*time.Second, "slot lost after the checkpoint", func() error {
		if s := status(); s != "lost" {
			return fmt.Errorf("wal_status %s", s)
		}
		if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-slot"); v != 1 {
			return fmt.Errorf("replica wal_lost %v", v)
		}
		if v := must(t, reg, "certstatus_primary_slot_lost", "slot", "replica_slot"); v != 1 {
			return fmt.Errorf("slot_lost %v", v)
		}
		return nil
	})
	if h := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-slot"); h != 0 {
		t.Errorf("lost: headroom %v, want 0", h)
	}
	if lab.ServerVersion(t) >= 170000 {
		if r := lab.SQL(t, "primary", "SELECT invalidation_reason FROM pg_replication_slots WHERE slot_name = 'replica_slot'"); r != "wal_removed" {
			t.Errorf("17+: invalidation_reason %q, want wal_removed", r)
		}
		must(t, reg, "certstatus_primary_slot_inactive_since_timestamp_seconds", "slot", "replica_slot")
	}
}

func decreasing(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] >= xs[i-1] {
			return false
		}
	}
	return len(xs) > 1
}
