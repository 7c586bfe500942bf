package replication

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certstatus/certstatus_exporter/config"
)

func replicationConfig(names ...string) *config.Config {
	cfg := &config.Config{
		Primary: &config.Database{DSN: "postgres://monitor@127.0.0.1:1/certdb"},
		Replication: config.Replication{Interval: config.Duration(time.Second), Timeout: config.Duration(time.Second),
			RateWindow: config.Duration(time.Minute), History: config.Duration(time.Hour)},
	}
	for _, n := range names {
		cfg.Replicas = append(cfg.Replicas, config.Replica{Name: n, Database: config.Database{DSN: "postgres://monitor@127.0.0.1:1/" + n}})
	}
	return cfg
}

// A reload keeps unchanged targets (connection, history, health) and
// replaces changed ones.
func TestReloadReusesUnchangedTargets(t *testing.T) {
	old := newReplication(replicationConfig("replica-1", "replica-2"), nil, discard)
	cfg := replicationConfig("replica-1", "replica-2", "replica-3")
	cfg.Replicas[1].DSN += "?sslmode=require"
	next := newReplication(cfg, old, discard)
	if next.primary != old.primary {
		t.Error("unchanged primary was replaced")
	}
	if next.replicas[0] != old.replicas[0] {
		t.Error("unchanged replica-1 was replaced")
	}
	if next.replicas[1] == old.replicas[1] {
		t.Error("replica-2 with a new DSN was reused")
	}
	if next.replica(old.replicas[1].key) != nil {
		t.Error("the old replica-2 is still reachable by its key")
	}
}

// Before its first probe finishes a target is absent, not down.
func TestUnprobedTargetsAreAbsent(t *testing.T) {
	r := newReplication(replicationConfig("replica-1"), nil, discard)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorFunc(r.Collect))
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("unprobed targets exported %d series (err %v), want 0", n, err)
	}
	r.replicas[0].health.Record(time.Now(), nil)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP certstatus_replica_up Whether the last probe of this replica succeeded.
# TYPE certstatus_replica_up gauge
certstatus_replica_up{replica="replica-1"} 1
`), "certstatus_replica_up"); err != nil {
		t.Fatal(err)
	}
}

// Issue 10 6(c): a reload that changes replication.interval resizes the kept
// histories, so they still cover replication.history (6h at 5s is 4322
// samples; at 1s it must be 21602, not the 72 minutes 4322 samples cover).
func TestReloadResizesHistoryForNewInterval(t *testing.T) {
	cfg := replicationConfig("replica-1")
	cfg.Replication.Interval = config.Duration(5 * time.Second)
	cfg.Replication.History = config.Duration(6 * time.Hour)
	old := newReplication(cfg, nil, discard)
	next := replicationConfig("replica-1")
	next.Replication.Interval = config.Duration(time.Second)
	next.Replication.History = config.Duration(6 * time.Hour)
	r := newReplication(next, old, discard)
	if r.primary != old.primary || r.replicas[0] != old.replicas[0] {
		t.Fatal("targets were replaced; the test needs them reused")
	}
	// Fill one history at the new interval for longer than the old cap lasts.
	start := time.Now()
	for i := range 6 * 3600 {
		r.replicas[0].hist.Add(start.Add(time.Duration(i)*time.Second), LSN(i))
	}
	for name, h := range map[string]*History{"primary": r.primary.hist, "replica-1": r.replicas[0].hist} {
		if h.cap != 6*3600+2 {
			t.Errorf("%s history holds %d samples after 5s -> 1s, want %d (6h at 1s)", name, h.cap, 6*3600+2)
		}
	}
	if n := r.replicas[0].hist.Len(); n != 6*3600 {
		t.Errorf("replica history kept %d of 21600 samples, want all", n)
	}
	// Shrinking keeps the newest samples.
	r.replicas[0].hist.Resize(time.Hour, time.Second)
	if age, exact, _ := r.replicas[0].hist.Since(LSN(6*3600-3600), start.Add(6*time.Hour)); !exact || age > time.Hour+2*time.Second {
		t.Errorf("after shrinking to 1h the sample 1h ago is gone or wrong: age %v exact %v", age, exact)
	}
}
