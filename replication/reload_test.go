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
