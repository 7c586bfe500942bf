// Package bench holds the project's benchmarks against the lab. Results and
// the commands that reproduce them are in bench/README.md.
package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/replication"
)

func labDB(lab *labtest.Lab, dsnKey string) config.Database {
	return config.Database{DSN: lab.Env[dsnKey], PasswordFile: lab.Env["LAB_PASSWORD_FILE"]}
}

// BenchmarkReplicaProbe: one replica probe cycle; reports round trips per
// cycle and the server's execution time of its query.
func BenchmarkReplicaProbe(b *testing.B) {
	lab := labtest.Up(b)
	p := replication.NewReplicaProbe(labDB(lab, "LAB_REPLICA1_DSN"), 2*time.Second)
	defer p.Close()
	cycle(b, p.Probe, p.RoundTrips)
	b.ReportMetric(serverMillis(b, lab, "replica-1", replication.ReplicaQuery), "server-ms/op")
}

// BenchmarkPrimaryProbe: one primary probe cycle (shared by all replicas).
func BenchmarkPrimaryProbe(b *testing.B) {
	lab := labtest.Up(b)
	p := replication.NewPrimaryProbe(labDB(lab, "LAB_PRIMARY_DSN"), 2*time.Second)
	defer p.Close()
	cycle(b, p.Probe, p.RoundTrips)
	var server float64
	for _, q := range replication.PrimaryQueries(lab.ServerVersion(b)) {
		server += serverMillis(b, lab, "primary", q)
	}
	b.ReportMetric(server, "server-ms/op")
}

func cycle[T any](b *testing.B, probe func(context.Context) (T, error), roundTrips func() int64) {
	ctx := context.Background()
	if _, err := probe(ctx); err != nil { // connect outside the measurement
		b.Fatal(err)
	}
	before := roundTrips()
	b.ResetTimer()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := probe(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	b.StopTimer()
	b.ReportMetric(float64(roundTrips()-before)/float64(b.N), "roundtrips/op")
}

// serverMillis is the server's own execution time for q, from EXPLAIN ANALYZE.
func serverMillis(b *testing.B, lab *labtest.Lab, node, q string) float64 {
	out := lab.SQL(b, node, "EXPLAIN (ANALYZE, FORMAT JSON) "+q)
	var plans []struct {
		Planning  float64 `json:"Planning Time"`
		Execution float64 `json:"Execution Time"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) == 0 {
		b.Fatalf("EXPLAIN output %q: %v", out, err)
	}
	return plans[0].Planning + plans[0].Execution
}
