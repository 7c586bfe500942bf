package replication

import (
	"bytes"
	"flag"
	"math"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

var update = flag.Bool("update", false, "rewrite golden files")

// collectorFunc adapts a collect function to prometheus.Collector.
type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// fixedReplication is a replication state as the loops would leave it: the
// primary up with a slot, replica-1 cut off, replica-2 down.
func fixedReplication() *replication {
	at := time.Unix(1795480000, 0)
	ph := NewHistory(time.Hour, 5*time.Second)
	ph.Add(at.Add(-10*time.Second), 0x5000000)
	ph.Add(at, 0x5A00000)
	safe := int64(1 << 30)
	p := &primaryTarget{hist: ph, health: newHealth(), status: PrimaryStatus{
		Version: 170010, FlushLSN: 0x5A00000, SegmentSize: 16 << 20, WALKeepBytes: 32 << 20, OldestSegment: 0x3000000, HasOldest: true,
		Checkpoints: 12,
		Archiver: Archiver{Enabled: true, HasArchived: true, LastArchivedEnd: 0x5000000, Failures: 3,
			LastArchived: at.Add(-20 * time.Second), LastFailed: at.Add(-time.Hour)},
		Slots: []Slot{{Name: "standby_3", Active: true, WALStatus: "reserved", SafeWALSize: &safe},
			{Name: "standby_4", WALStatus: "lost", InactiveSince: at.Add(-10 * time.Minute), InvalidationReason: "wal_removed"}},
		Senders: []Sender{{ApplicationName: "replica-1", State: "streaming", SyncState: "sync"}},
	}}
	p.health.Record(at, nil)
	p.health.LastSuccess, p.health.Duration = at, 3*time.Millisecond

	r1 := &replicaTarget{name: "replica-1", health: newHealth(), view: ReplicaView{
		Status: ReplicaStatus{Version: 170010, ReceiveLSN: 0x4000000, HasReceive: true, ReplayLSN: 0x3F00000, ReceiverRunning: true,
			ReceiverStatus: "waiting", LastMessageAge: 42 * time.Second, HasLastMessageAge: true, RestoreCommand: true},
		HasPrimary: true, SyncState: "sync", ReceiveLagBytes: 0x1A00000, ReplayLagBytes: 0x1B00000, ReplayLagSeconds: 93.5,
		HasHeadroom: true, HeadroomBytes: 0x1000000, HasETA: true, ETASeconds: 16.8,
	}}
	r1.health.Record(at, nil)
	r1.health.LastSuccess, r1.health.Duration = at, time.Millisecond

	r2 := &replicaTarget{name: "replica-2", health: newHealth()}
	r2.health.Record(at, nil)
	r2.health.LastSuccess = at.Add(-time.Minute)
	r2.health.Record(at, &pgconn.ProbeError{Reason: pgconn.ReasonTimeout, Err: os.ErrDeadlineExceeded})
	r2.health.Duration = 500 * time.Millisecond
	return &replication{primary: p, replicas: []*replicaTarget{r1, r2}}
}

// Golden output, node_exporter style: go test ./exporter -run Golden -update.
func TestReplicationGolden(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorFunc(fixedReplication().Collect))
	const golden = "testdata/replication.prom"
	if *update {
		if err := os.WriteFile(golden, metrictest.Text(t, reg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f); err != nil {
		t.Fatal(err)
	}
}

// promtool check metrics finds nothing to complain about in the golden output.
func TestPromtoolCheckMetrics(t *testing.T) {
	raw, err := os.ReadFile("testdata/replication.prom")
	if err != nil {
		t.Fatal(err)
	}
	metrictest.PromtoolCheckMetrics(t, raw)
}

func TestETAInfinityIsExported(t *testing.T) {
	r := fixedReplication()
	r.replicas[0].view.ETASeconds = math.Inf(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorFunc(r.Collect))
	if err := testutil.GatherAndCompare(reg, bytes.NewBufferString(`
# HELP certstatus_replica_wal_loss_eta_seconds Seconds until the primary removes WAL this replica needs, at the recent WAL rates.
# TYPE certstatus_replica_wal_loss_eta_seconds gauge
certstatus_replica_wal_loss_eta_seconds{replica="replica-1"} +Inf
`), "certstatus_replica_wal_loss_eta_seconds"); err != nil {
		t.Fatal(err)
	}
}
