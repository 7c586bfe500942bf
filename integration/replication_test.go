package integration

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// 1. Idle primary, replicas caught up: lag is 0 bytes and under 2 intervals.
func TestReplicationIdlePrimary(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, labConfig(t, lab, ""))
	eventually(t, 10*time.Second, "replicas caught up, rates measured", func() error {
		for _, r := range []string{"replica-1", "replica-2"} {
			if v, _ := value(t, reg, "certstatus_replica_replay_lag_bytes", "replica", r); v != 0 {
				return fmt.Errorf("%s replay lag %v bytes", r, v)
			}
			if _, ok := value(t, reg, "certstatus_replica_wal_loss_eta_seconds", "replica", r); !ok {
				return fmt.Errorf("%s has no ETA yet (needs two samples)", r)
			}
		}
		return nil
	})
	nonZero := 0
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		for _, r := range []string{"replica-1", "replica-2"} {
			if secs := must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", r); secs >= 2 {
				t.Errorf("%s: replay lag %vs on an idle primary, want < 2 intervals (2s)", r, secs)
			}
			if b := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", r); b != 0 {
				nonZero++ // a checkpoint record can be read between the two probes
			}
			if eta := must(t, reg, "certstatus_replica_wal_loss_eta_seconds", "replica", r); !math.IsInf(eta, 1) {
				t.Errorf("%s: WAL loss ETA %v on an idle primary, want +Inf", r, eta)
			}
		}
	}
	if nonZero > 4 {
		t.Errorf("replay lag bytes were non-zero in %d of 120 idle samples", nonZero)
	}
	for _, r := range []string{"replica-1", "replica-2"} {
		if b := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", r); b != 0 {
			t.Errorf("%s: replay lag %v bytes after 60s idle, want 0", r, b)
		}
	}
}

// writeLoop writes about kb kilobytes of WAL on the primary at each tick
// until the returned stop is called.
func writeLoop(t *testing.T, lab *labtest.Lab, every time.Duration, kb int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			lab.SQL(t, "primary", fmt.Sprintf("INSERT INTO walfill (pad) SELECT repeat('w', 1000) FROM generate_series(1, %d)", kb*9/10))
			time.Sleep(every)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// 2. Replay paused on replica-1 while the primary is written.
func TestReplicationReplayPaused(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, labConfig(t, lab, ""))
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()") })

	stop := writeLoop(t, lab, 200*time.Millisecond, 20)
	eventually(t, 30*time.Second, "replica-1 paused and behind", func() error {
		// An absent series (NaN) is not "behind".
		if v, ok := value(t, reg, "certstatus_replica_replay_lag_bytes", "replica", "replica-1"); !ok || v < 1<<20 {
			return fmt.Errorf("replica-1 replay lag %v bytes, want >= 1 MiB", v)
		}
		return nil
	})
	stop()
	eventually(t, 30*time.Second, "everything written is received (and replayed by replica-2)", func() error {
		for _, m := range []string{"replica-1 receive", "replica-2 receive", "replica-2 replay"} {
			r, kind, _ := strings.Cut(m, " ")
			if v, ok := value(t, reg, "certstatus_replica_"+kind+"_lag_bytes", "replica", r); !ok || v != 0 {
				return fmt.Errorf("%s %s lag %v", r, kind, v)
			}
		}
		return nil
	})

	if v := must(t, reg, "certstatus_replica_replay_paused", "replica", "replica-1"); v != 1 {
		t.Errorf("replay_paused = %v, want 1", v)
	}
	if v := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", "replica-1"); v <= 0 {
		t.Errorf("replica-1 replay lag = %v bytes, want > 0", v)
	}
	if v := must(t, reg, "certstatus_replica_receive_lag_bytes", "replica", "replica-1"); v != 0 {
		t.Errorf("replica-1 receive lag = %v bytes, want 0 (it still receives)", v)
	}
	for _, m := range []string{"certstatus_replica_replay_lag_bytes", "certstatus_replica_receive_lag_bytes"} {
		if v := must(t, reg, m, "replica", "replica-2"); v != 0 {
			t.Errorf("replica-2 %s = %v, want 0 (untouched)", m, v)
		}
	}
	// Lag in seconds grows with wall time, although the primary is idle now:
	// by the wall time between two readings, give or take the two probe
	// intervals each reading may be behind.
	t1 := time.Now()
	s1 := must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", "replica-1")
	var s2 float64
	eventually(t, 30*time.Second, "replay lag seconds grows by 3s", func() error {
		if s2 = must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", "replica-1"); s2-s1 < 3 {
			return fmt.Errorf("replay lag %vs then %vs", s1, s2)
		}
		return nil
	})
	wall := time.Since(t1).Seconds()
	if s1 < 1 || math.Abs((s2-s1)-wall) > 2 {
		t.Errorf("replay lag seconds %v then %v over %.1fs of wall time; want >= 1 and growing with wall time (±2 intervals)", s1, s2, wall)
	}
	t.Logf("paused replica-1: replay lag %.1fs -> %.1fs over %.1fs", s1, s2, wall)

	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")
	eventually(t, 3*time.Second, "lag back to 0 within 2 intervals after resume", func() error {
		for _, r := range []string{"replica-1", "replica-2"} {
			b := must(t, reg, "certstatus_replica_replay_lag_bytes", "replica", r)
			s := must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", r)
			if b != 0 || s != 0 {
				return fmt.Errorf("%s lag %v bytes %vs", r, b, s)
			}
		}
		return nil
	})
}

// 3. Replica-2's receiver cut while it stays up; then WAL written past
// wal_keep_size and checkpointed: WAL lost, for good.
func TestReplicationCutAndWALLoss(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, labConfig(t, lab, ""))
	t.Cleanup(func() { lab.Run(t, "rebuild", "replica-2") })
	eventually(t, 10*time.Second, "replica-2 streaming", func() error {
		if v, _ := value(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-2"); v != 1 {
			return fmt.Errorf("streaming = %v", v)
		}
		return nil
	})
	original := lab.SQL(t, "replica-2", "SHOW primary_conninfo")
	lab.SQL(t, "replica-2", "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=replicator connect_timeout=1'")
	lab.SQL(t, "replica-2", "SELECT pg_reload_conf()")
	eventually(t, 10*time.Second, "replica-2 not streaming", func() error {
		if v := must(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-2"); v != 0 {
			return fmt.Errorf("streaming = %v", v)
		}
		return nil
	})

	// Write several MB/s and checkpoint every 2s, so pg_wal's oldest segment
	// moves on as it would on a busy primary.
	stop := writeLoop(t, lab, 50*time.Millisecond, 400)
	defer stop()
	var lags, headrooms, etas []float64
	lost := false
	for i := 0; i < 40 && !lost; i++ {
		time.Sleep(2 * time.Second)
		lab.SQL(t, "primary", "CHECKPOINT")
		time.Sleep(1100 * time.Millisecond)
		lags = append(lags, must(t, reg, "certstatus_replica_receive_lag_bytes", "replica", "replica-2"))
		headrooms = append(headrooms, must(t, reg, "certstatus_replica_wal_headroom_bytes", "replica", "replica-2"))
		eta, _ := value(t, reg, "certstatus_replica_wal_loss_eta_seconds", "replica", "replica-2")
		etas = append(etas, eta)
		lost = must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-2") == 1
		if v := must(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-1"); v != 1 {
			t.Errorf("replica-1 stopped streaming (%v); only replica-2 was cut", v)
		}
	}
	stop()
	t.Logf("replica-2 cut: receive lag %v", lags)
	t.Logf("replica-2 cut: headroom %v", headrooms)
	t.Logf("replica-2 cut: ETA %v", etas)
	if !lost {
		t.Fatal("wal_lost never became 1 although WAL was written past wal_keep_size and checkpointed")
	}
	if !increasing(lags) {
		t.Errorf("receive lag did not grow: %v", lags)
	}
	if headrooms[0] <= 0 || headrooms[len(headrooms)-1] != 0 || !nonIncreasing(headrooms) {
		t.Errorf("headroom did not shrink to 0: %v", headrooms)
	}
	// Headroom only moves when a checkpoint removes segments, so the ETA
	// falls in steps; between steps the rate's noise may lift it a little.
	var finite []float64
	for _, e := range etas[:len(etas)-1] {
		if !math.IsInf(e, 1) && !math.IsNaN(e) && e > 0 {
			if n := len(finite); n > 0 && e > finite[n-1]*1.5 {
				t.Errorf("ETA rose from %v to %v while the replica was cut", finite[n-1], e)
			}
			finite = append(finite, e)
		}
	}
	if len(finite) < 2 || finite[len(finite)-1] >= finite[0] {
		t.Errorf("ETA was not finite and falling before the WAL was lost: %v", etas)
	}
	if etas[len(etas)-1] != 0 {
		t.Errorf("ETA once lost = %v, want 0", etas[len(etas)-1])
	}

	// Reconnect: the primary no longer has the segment; the replica says so
	// and stays lost.
	lab.SQL(t, "replica-2", fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = '%s'", strings.ReplaceAll(original, "'", "''")))
	lab.SQL(t, "replica-2", "SELECT pg_reload_conf()")
	logFile := filepath.Join(lab.Dir(), "log", "replica-2.log")
	eventually(t, 20*time.Second, "replica-2 log reports removed WAL", func() error {
		b, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "has already been removed") {
			return fmt.Errorf("no \"requested WAL segment ... has already been removed\" in %s yet", logFile)
		}
		return nil
	})
	// Two more probes after the replica said so: still lost.
	waitNextProbe(t, reg, "replica-2")
	waitNextProbe(t, reg, "replica-2")
	if v := must(t, reg, "certstatus_replica_wal_lost", "replica", "replica-2"); v != 1 {
		t.Errorf("wal_lost = %v after reconnecting, want 1 (it cannot catch up by streaming)", v)
	}
	if v := must(t, reg, "certstatus_replica_wal_receiver_streaming", "replica", "replica-2"); v != 0 {
		t.Errorf("streaming = %v after reconnecting to a primary without its WAL", v)
	}
}

func increasing(xs []float64) bool {
	return len(xs) > 1 && xs[len(xs)-1] > xs[0] && nonDecreasing(xs)
}

func nonDecreasing(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] {
			return false
		}
	}
	return true
}

func nonIncreasing(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] > xs[i-1] {
			return false
		}
	}
	return true
}

// 4. Primary stopped: primary_up 0, replica metrics still served. A frozen
// replica delays neither the other replica's probe nor any scrape.
func TestReplicationPrimaryDownAndFrozenReplica(t *testing.T) {
	lab := labtest.Up(t)
	reg := startExporter(t, labConfig(t, lab, ""))
	eventually(t, 10*time.Second, "all up", func() error {
		if v, _ := value(t, reg, "certstatus_primary_up"); v != 1 {
			return fmt.Errorf("primary_up = %v", v)
		}
		return nil
	})

	lab.Run(t, "freeze", "replica-1")
	thawed := false
	thaw := func() {
		if !thawed {
			lab.Run(t, "thaw", "replica-1")
			thawed = true
		}
	}
	t.Cleanup(thaw)
	before := must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "replica", "target", "replica-2")
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
		time.Sleep(200 * time.Millisecond)
	}
	after := must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "replica", "target", "replica-2")
	if after-before < 2 {
		t.Errorf("replica-2 probed successfully only %.1fs later over 4s while replica-1 was frozen", after-before)
	}
	if v := must(t, reg, "certstatus_replica_up", "replica", "replica-1"); v != 0 {
		t.Errorf("frozen replica-1 up = %v, want 0", v)
	}
	if v := must(t, reg, "certstatus_probe_failures_total", "probe", "replica", "target", "replica-1", "reason", "timeout"); v < 1 {
		t.Errorf("frozen replica-1 timeouts = %v, want >= 1", v)
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("slowest scrape with a frozen replica took %s, want < 100ms", slowest)
	}
	t.Logf("frozen replica-1: slowest of 20 scrapes %s", slowest)
	thaw()

	lab.Run(t, "stop", "primary")
	t.Cleanup(func() { lab.Run(t, "start", "primary") })
	eventually(t, 5*time.Second, "primary reported down", func() error {
		if v := must(t, reg, "certstatus_primary_up"); v != 0 {
			return fmt.Errorf("primary_up = %v", v)
		}
		return nil
	})
	for _, r := range []string{"replica-1", "replica-2"} {
		eventually(t, 5*time.Second, r+" served without the primary", func() error {
			if v := must(t, reg, "certstatus_replica_up", "replica", r); v != 1 {
				return fmt.Errorf("%s up = %v", r, v)
			}
			if _, ok := value(t, reg, "certstatus_replica_replay_lag_bytes", "replica", r); ok {
				return fmt.Errorf("%s lag bytes present without the primary; want absent", r)
			}
			return nil
		})
		must(t, reg, "certstatus_replica_replay_lag_seconds", "replica", r)
	}
	if _, ok := value(t, reg, "certstatus_primary_wal_position_bytes"); ok {
		t.Error("primary WAL position still served while the primary is down")
	}
	must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "primary", "target", "primary")
}

// waitNextProbe waits until a replica has been probed successfully again.
func waitNextProbe(t *testing.T, reg prometheus.Gatherer, replica string) {
	t.Helper()
	last := must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "replica", "target", replica)
	eventually(t, 30*time.Second, replica+" probed again", func() error {
		if now := must(t, reg, "certstatus_probe_last_success_timestamp_seconds", "probe", "replica", "target", replica); now == last {
			return fmt.Errorf("last success still %v", now)
		}
		return nil
	})
}
