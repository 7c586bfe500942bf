package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// Issue 14 "must show": cascade lag is correct while the middle replica's
// replay is paused. A cascading replica's lag is measured against its
// upstream's position (what the upstream has received): the exporter's
// numbers must equal what the two servers say (a standby sends what it has
// received, so the cascade usually gets ahead of the paused middle's replay).
func TestReplicationCascadeWhileMiddlePaused(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-1"},
		labReplica{name: "replica-cascade", upstream: "replica-1"}))
	eventually(t, 15*time.Second, "cascade streaming from replica-1", func() error {
		if v, _ := value(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-cascade"); v != 1 {
			return fmt.Errorf("streaming = %v", v)
		}
		return nil
	})
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()") })
	lab.WriteWAL(t, 2)
	pos := primaryLSN(t, lab)
	lsn := func(node, fn string) float64 {
		v, err := strconv.ParseFloat(lab.SQL(t, node, "SELECT "+fn+"() - '0/0'"), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var middleReceive, middleReplay, cascadeReceive, cascadeReplay float64
	eventually(t, 20*time.Second, "exporter's cascade lag equals the servers'", func() error {
		settle(t, reg, "replica-cascade", pos)
		middleReceive, middleReplay = lsn("replica-1", "pg_last_wal_receive_lsn"), lsn("replica-1", "pg_last_wal_replay_lsn")
		cascadeReceive, cascadeReplay = lsn("replica-cascade", "pg_last_wal_receive_lsn"), lsn("replica-cascade", "pg_last_wal_replay_lsn")
		if middleReceive < pos {
			return fmt.Errorf("replica-1 received %v of %v", middleReceive, pos)
		}
		if r1 := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", "replica-1"); r1 != pos-middleReplay {
			return fmt.Errorf("replica-1 replay lag %v bytes, servers say %v", r1, pos-middleReplay)
		}
		want := map[string]float64{
			"certstatus_replica_receive_lag_bytes": middleReceive - max(cascadeReceive, cascadeReplay),
			"certstatus_replica_replay_lag_bytes":  max(0, middleReceive-cascadeReplay),
		}
		for m, w := range want {
			if v := must(t, reg, m, "replica", "replica-cascade"); v != w {
				return fmt.Errorf("cascade %s = %v against its upstream, servers say %v", m, v, w)
			}
		}
		return nil
	})
	t.Logf("PostgreSQL %d, replica-1 paused: replica-1 received %.0f replayed %.0f; cascade received %.0f replayed %.0f",
		lab.ServerVersion(t)/10000, middleReceive, middleReplay, cascadeReceive, cascadeReplay)
	if middleReplay >= pos {
		t.Fatalf("replica-1 replayed to %v although paused before %v was written", middleReplay, pos)
	}
	s1 := must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", "replica-1")
	eventually(t, 10*time.Second, "replica-1's replay lag in seconds grows", func() error {
		if s := must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", "replica-1"); s < s1+2 {
			return fmt.Errorf("replica-1 replay lag %vs, was %vs", s, s1)
		}
		return nil
	})
	if h := must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-cascade"); h <= 0 {
		t.Errorf("cascade headroom %v against replica-1's wal_keep_size, want > 0", h)
	}
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")
	eventually(t, 10*time.Second, "replica-1 caught up after resume", func() error {
		if v := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", "replica-1"); v != 0 {
			return fmt.Errorf("replay lag %v", v)
		}
		return nil
	})
}

// Issue 10 "must show": a replica with restore_command over the lab's WAL
// archive: removed from the primary yes, unrecoverable no, then back to
// streaming; replica-2 without it: unrecoverable.
func TestReplicationArchiveRecovery(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-archive"}, labReplica{name: "replica-2"}))
	t.Cleanup(func() { lab.Run(t, "rebuild", "replica-2") })
	t.Cleanup(func() { lab.Run(t, "rebuild", "replica-archive") })
	eventually(t, 10*time.Second, "archiver enabled", func() error {
		if v, _ := value(t, reg, "certstatus_primary_archiver_enabled"); v != 1 {
			return fmt.Errorf("archiver_enabled = %v", v)
		}
		return nil
	})
	// Paused replay keeps replica-archive from restoring from the archive
	// while it is cut, so the primary can remove what it needs.
	cut(t, lab, reg, "replica-archive")
	lab.SQL(t, "replica-archive", "SELECT pg_wal_replay_pause()")
	cut(t, lab, reg, "replica-2")
	for i := 0; i < 4; i++ {
		lab.Run(t, "switch-wal", "1")
	}
	waitArchived(t, lab)
	lab.SQL(t, "primary", "CHECKPOINT")
	eventually(t, 15*time.Second, "both removed from the primary", func() error {
		for _, r := range []string{"replica-archive", "replica-2"} {
			if v := must(t, reg, "certstatus_replica_wal_lost", "replica", r); v != 1 {
				return fmt.Errorf("%s wal_lost %v", r, v)
			}
		}
		return nil
	})
	for r, want := range map[string]float64{"replica-archive": 0, "replica-2": 1} {
		if v := must(t, reg, "certstatus_replica_wal_unrecoverable", "replica", r); v != want {
			t.Errorf("%s unrecoverable = %v, want %v", r, v, want)
		}
		if v := must(t, reg, "certstatus_replica_restore_command_configured", "replica", r); v != 1-want {
			t.Errorf("%s restore_command_configured = %v, want %v", r, v, 1-want)
		}
	}

	lab.SQL(t, "replica-archive", "SELECT pg_wal_replay_resume()")
	lab.Run(t, "uncut", "replica-archive")
	eventually(t, 60*time.Second, "replica-archive restored from the archive and streams again", func() error {
		if v := must(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-archive"); v != 1 {
			return fmt.Errorf("streaming %v", v)
		}
		if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-archive"); v != 0 {
			return fmt.Errorf("wal_lost %v", v)
		}
		if v := must(t, reg, "certstatus_replica_receive_lag_bytes", "replica", "replica-archive"); v != 0 {
			return fmt.Errorf("receive lag %v", v)
		}
		return nil
	})
}

// A failing archive_command shows as failures and a growing archive lag,
// what the archiver alert (alerts/replication-archive.rules.yml) fires on.
func TestReplicationArchiverFailing(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-1"}))
	if !lab.Has("archive") {
		t.Skip("the lab has no archive")
	}
	// One archived segment, so the archive lag is defined.
	lab.Run(t, "switch-wal", "1")
	waitArchived(t, lab)
	eventually(t, 10*time.Second, "archiver metrics", func() error {
		if _, ok := value(t, reg, "certstatus_primary_archive_lag_bytes"); !ok {
			return fmt.Errorf("no archive lag yet")
		}
		return nil
	})
	failures := must(t, reg, "certstatus_primary_archiver_failures_total")
	lab.Run(t, "archive-fail")
	t.Cleanup(func() {
		lab.Run(t, "archive-ok")
		waitArchived(t, lab)
	})
	lab.Run(t, "switch-wal", "3")
	eventually(t, 60*time.Second, "archiver failing and behind", func() error {
		if v := must(t, reg, "certstatus_primary_archiver_failures_total"); v <= failures {
			return fmt.Errorf("failures %v, was %v", v, failures)
		}
		if v := must(t, reg, "certstatus_primary_archive_lag_bytes"); v < 2*segSize {
			return fmt.Errorf("archive lag %v bytes", v)
		}
		return nil
	})
	must(t, reg, "certstatus_primary_archiver_last_failure_timestamp_seconds")
	lab.Run(t, "archive-ok")
	eventually(t, 60*time.Second, "archiver caught up", func() error {
		if v := must(t, reg, "certstatus_primary_archive_lag_bytes"); v >= segSize {
			return fmt.Errorf("archive lag %v bytes", v)
		}
		return nil
	})
}

// sync_state of each standby, the server version, and the monitoring role
// with only pg_monitor seeing the WAL receiver's status on every version.
func TestReplicationSyncStateVersionAndRole(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, topologyConfig(t, lab, labReplica{name: "replica-1"}, labReplica{name: "replica-sync"}))
	roles := lab.SQL(t, "primary", `SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'monitor'`)
	if roles != "pg_monitor" {
		t.Fatalf("monitor role is a member of %q, want only pg_monitor", roles)
	}
	if v := lab.SQL(t, "primary", "SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = 'monitor'"); v != "f" {
		t.Fatalf("monitor role is superuser or replication: %s", v)
	}
	version := float64(lab.ServerVersion(t))
	eventually(t, 15*time.Second, "sync states, versions, streaming", func() error {
		for r, state := range map[string]string{"replica-1": "async", "replica-sync": "sync"} {
			if v, _ := value(t, reg, "certstatus_replica_sync_state", "replica", r, "state", state); v != 1 {
				return fmt.Errorf("%s sync_state{state=%q} = %v", r, state, v)
			}
			if v, _ := value(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", r); v != 1 {
				return fmt.Errorf("%s streaming = %v as monitor (pg_monitor only)", r, v)
			}
			if v, _ := value(t, reg, "certstatus_server_version_num", "probe", "replica", "target", r); v != version {
				return fmt.Errorf("%s version %v, want %v", r, v, version)
			}
		}
		if v, _ := value(t, reg, "certstatus_server_version_num", "probe", "primary", "target", "primary"); v != version {
			return fmt.Errorf("primary version %v, want %v", v, version)
		}
		return nil
	})
	t.Logf("PostgreSQL %s: sync_state and streaming read with pg_monitor only", strings.TrimSpace(lab.SQL(t, "primary", "SHOW server_version")))
}

// A server older than 13 is an unsupported_version failure of its target
// (up 0, the reason counted), not a crash; the other targets are served.
func TestReplicationUnsupportedVersion(t *testing.T) {
	lab := labtest.Up(t)
	old := strings.TrimSpace(lab.Run(t, "old-up"))
	t.Cleanup(func() { lab.Run(t, "old-down") })
	cfg := topologyConfig(t, lab, labReplica{name: "replica-1"})
	cfg.Replicas = append(cfg.Replicas, cfg.Replicas[0])
	cfg.Replicas[1].Name, cfg.Replicas[1].DSN = "replica-old", old
	reg := startExporter(t, cfg)
	eventually(t, 15*time.Second, "PostgreSQL 12 refused, replica-1 served", func() error {
		if v, _ := value(t, reg, "certstatus_probe_failures_total", "probe", "replica", "target", "replica-old", "reason", "unsupported_version"); v < 1 {
			return fmt.Errorf("unsupported_version failures %v", v)
		}
		if v, _ := value(t, reg, "certstatus_replica_up", "replica", "replica-old"); v != 0 {
			return fmt.Errorf("replica-old up %v", v)
		}
		if v, _ := value(t, reg, "certstatus_replica_up", "replica", "replica-1"); v != 1 {
			return fmt.Errorf("replica-1 up %v", v)
		}
		return nil
	})
	if _, ok := value(t, reg, "certstatus_replica_replay_lag_bytes", "replica", "replica-old"); ok {
		t.Error("replica-old has lag metrics although its version is unsupported")
	}
}

// A role without pg_read_all_stats sees pg_stat_wal_receiver's pid but NULL
// status: the exporter says the receiver runs and leaves "streaming" out,
// never 0 (which would page CertstatusReplicaNotStreaming).
func TestReplicationHiddenReceiverStatusIsNotNotStreaming(t *testing.T) {
	lab := labtest.Up(t)
	lab.SQL(t, "primary", `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nostats') THEN
    CREATE ROLE nostats LOGIN PASSWORD 'monitor-lab-secret' IN ROLE pg_read_all_settings;
    GRANT EXECUTE ON FUNCTION pg_ls_waldir() TO nostats;
  END IF;
END $$`)
	eventually(t, 10*time.Second, "role replicated to replica-1", func() error {
		if n := lab.SQL(t, "replica-1", "SELECT count(*) FROM pg_roles WHERE rolname = 'nostats'"); n != "1" {
			return fmt.Errorf("nostats not on replica-1 yet")
		}
		return nil
	})
	cfg := topologyConfig(t, lab, labReplica{name: "replica-1"})
	cfg.Replicas[0].DSN = strings.Replace(cfg.Replicas[0].DSN, "monitor@", "nostats@", 1)
	reg := startExporter(t, cfg)
	eventually(t, 10*time.Second, "replica-1 probed as nostats", func() error {
		if v, _ := value(t, reg, "certstatus_replica_up", "replica", "replica-1"); v != 1 {
			return fmt.Errorf("up %v", v)
		}
		if v, _ := value(t, reg, "certstatus_replica_wal_receiver_running", "replica", "replica-1"); v != 1 {
			return fmt.Errorf("receiver_running %v", v)
		}
		return nil
	})
	if v, ok := value(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-1"); ok {
		t.Errorf("streaming = %v for a role that cannot see the status, want absent", v)
	}
	if s := lab.SQL(t, "replica-1", "SET ROLE nostats; SELECT coalesce(status, 'NULL') FROM pg_stat_wal_receiver"); s != "NULL" {
		t.Errorf("nostats sees status %q; the test needs it hidden", s)
	}
}
