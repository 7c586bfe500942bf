package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

const benchCerts = 10000

// bulkCerts makes sure the lab has n bulk certificates with OCSP rows and
// returns them as the canary would track them.
func bulkCerts(b *testing.B, lab *labtest.Lab, n int) ([]canary.IssuedCert, *ocsp.Issuer) {
	have, _ := strconv.Atoi(lab.SQL(b, "primary", "SELECT count(*) FROM certificates WHERE ca_label = 'bulk'"))
	if have < n {
		lab.Run(b, "bulk", strconv.Itoa(n-have))
	}
	ca, err := os.ReadFile(lab.Env["LAB_ISSUER"])
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := ocsp.NewIssuer(mustParseCert(b, ca))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:"+strconv.Itoa(lab.Port("primary"))+"/certdb?sslmode=disable")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pem FROM certificates WHERE ca_label = 'bulk' LIMIT $1", n)
	if err != nil {
		b.Fatal(err)
	}
	var certs []canary.IssuedCert
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			b.Fatal(err)
		}
		c, err := canary.ParseIssued(canary.Found{Raw: raw}, []*ocsp.Issuer{issuer}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		certs = append(certs, c)
	}
	if rows.Err() != nil || len(certs) != n {
		b.Fatalf("read %d bulk certificates: %v", len(certs), rows.Err())
	}
	return certs, issuer
}

// BenchmarkOCSPChecks: issue 12's throughput and CPU ratios against one
// local cfssl origin, 4 POST requests in flight, three rows in one run:
//
//   - origin max: a plain load generator (what wrk would do) POSTs the very
//     same pre-encoded OCSP requests and only reads the body;
//   - first check: the canary path (ocsp.Client.Check + Tracker.Record) on
//     b.N distinct certificates this client and tracker never saw;
//   - recheck: the same certificates asked again.
//
// Rates are reported with their ratio to the origin's max; CPU per check of
// this process with its ratio to the origin's CPU per answer (cfssl alone,
// and cfssl + the PostgreSQL replica it reads).
func BenchmarkOCSPChecks(b *testing.B) {
	lab := labtest.Up(b)
	n := max(b.N, benchCerts)
	certs, issuer := bulkCerts(b, lab, n)
	// The replica must have the rows before the origin can answer good.
	labtestWaitReplicated(b, lab, n)
	url := lab.Env["LAB_ORIGIN1_URL"]
	cpu := labCPU{cfssl: readPID(b, filepath.Join(lab.Dir(), "run", "origin-1.pid")),
		pg: lab.PostmasterPID(b, "replica-1")}
	reqs := make([][]byte, len(certs))
	for i, c := range certs {
		der, err := issuer.Request(c.Serial)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = der
	}

	// A fresh client and tracker: every certificate is new to them.
	tr := canary.NewTracker(1, n)
	for _, c := range certs {
		tr.Add(c)
	}
	due := tr.Due(0, time.Now())
	// POST: GET requests whose base64 holds "//" get 400 from cfssl (see
	// ocsp.GetURL); that is a finding, not a throughput number.
	// With a responder cache, as the exporter builds its clients: it keys the
	// digests that let a recheck skip an unchanged answer's verification.
	client := &ocsp.Client{URL: url, Method: http.MethodPost, HTTP: benchHTTP(), Responders: ocsp.NewResponderCache(64)}
	raw := benchHTTP()

	// Warm the origin's connections and the replica's buffers: not measured.
	runPhase(b, min(1000, len(reqs)), cpu, func(i int) error { return postRaw(raw, url, reqs[i%len(reqs)]) })

	b.ResetTimer()
	originMax := runPhase(b, b.N, cpu, func(i int) error { return postRaw(raw, url, reqs[i%len(reqs)]) })
	first := runPhase(b, b.N, cpu, func(i int) error { return canaryCheck(client, tr, issuer, due[i], nil) })
	// An hour later every one is due again, with its last verified answer.
	again := tr.Due(0, time.Now().Add(time.Hour))
	var reused atomic.Int64
	recheck := runPhase(b, b.N, cpu, func(i int) error { return canaryCheck(client, tr, issuer, again[i], &reused) })
	b.StopTimer()
	b.ReportMetric(float64(reused.Load())/float64(b.N), "recheck-reused-fraction")

	b.ReportMetric(0, "ns/op") // three phases per op: meaningless
	b.ReportMetric(originMax.rate(), "max-req/s")
	b.ReportMetric(first.rate(), "first-checks/s")
	b.ReportMetric(recheck.rate(), "recheck-checks/s")
	b.ReportMetric(first.rate()/originMax.rate(), "first/max")
	b.ReportMetric(recheck.rate()/originMax.rate(), "recheck/max")
	b.ReportMetric(originMax.selfPer(), "loadgen-µs/req")
	b.ReportMetric(first.selfPer(), "first-exporter-µs/check")
	b.ReportMetric(recheck.selfPer(), "recheck-exporter-µs/check")
	// The origin's cost per answer over both canary rows (the same answers).
	cfssl := (first.cfssl + recheck.cfssl) / float64(first.n+recheck.n)
	withPG := (first.cfssl + first.pg + recheck.cfssl + recheck.pg) / float64(first.n+recheck.n)
	b.ReportMetric(cfssl, "origin-µs/answer")
	b.ReportMetric(withPG, "origin+pg-µs/answer")
	b.ReportMetric(first.selfPer()/cfssl, "first-cpu/origin")
	b.ReportMetric(recheck.selfPer()/cfssl, "recheck-cpu/origin")
	b.ReportMetric(first.selfPer()/withPG, "first-cpu/origin+pg")
	b.ReportMetric(recheck.selfPer()/withPG, "recheck-cpu/origin+pg")
}

func benchHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency}, Timeout: 5 * time.Second}
}

const benchConcurrency = 4

// canaryCheck is one canary check as an origin loop makes it: ask, verify
// and classify (unless the answer is byte-identical to the known one),
// record. reused, if set, counts answers that were.
func canaryCheck(client *ocsp.Client, tr *canary.Tracker, issuer *ocsp.Issuer, d canary.Due, reused *atomic.Int64) error {
	res := client.Recheck(context.Background(), issuer, d.Serial, d.Known, time.Now)
	tr.Record(0, d, res, time.Now())
	if res.Reused && reused != nil {
		reused.Add(1)
	}
	if res.Result != ocsp.ResultGood {
		return fmt.Errorf("%s: %s", res.Result, res.Detail)
	}
	return nil
}

// postRaw is the baseline: the request bytes POSTed, the body read, nothing
// parsed or verified.
func postRaw(c *http.Client, url string, der []byte) error {
	resp, err := c.Post(url, "application/ocsp-request", bytes.NewReader(der))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// labCPU names the processes whose CPU an answer costs: the cfssl origin
// and the postmaster of the replica it reads.
type labCPU struct{ cfssl, pg int }

type phase struct {
	n       int
	elapsed time.Duration
	// CPU in µs: this process, cfssl, the replica's PostgreSQL.
	self, cfssl, pg float64
}

func (p phase) rate() float64    { return float64(p.n) / p.elapsed.Seconds() }
func (p phase) selfPer() float64 { return p.self / float64(p.n) }

// runPhase runs do(0..n-1) from benchConcurrency workers and measures wall
// time and CPU; any error fails the benchmark with a count of each.
func runPhase(b *testing.B, n int, cpu labCPU, do func(i int) error) phase {
	var next atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	self0, cfssl0, pg0 := cpuSelf(), cpuOf(b, cpu.cfssl), pgCPU(b, cpu.pg)
	start := time.Now()
	var wg sync.WaitGroup
	for range benchConcurrency {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := do(i); err != nil {
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	p := phase{n: n, elapsed: time.Since(start)}
	p.self = float64((cpuSelf() - self0).Microseconds())
	p.cfssl = float64((cpuOf(b, cpu.cfssl) - cfssl0).Microseconds())
	p.pg = float64((pgCPU(b, cpu.pg) - pg0).Microseconds())
	if len(errs) > 0 {
		b.Fatalf("requests failed (of %d): %v", n, errs)
	}
	return p
}

// BenchmarkTrackedMemory: heap bytes per tracked certificate, the tracker
// and one source's seen-set, at 100,000 certificates with 3 origins and at
// 1,000,000 with 3 and 16 (issue 12: ≤ 256 B at 1M × 3, ≤ 512 B at 1M × 16).
func BenchmarkTrackedMemory(b *testing.B) {
	for _, c := range []struct{ certs, origins int }{{100000, 3}, {1000000, 3}, {1000000, 16}} {
		b.Run(fmt.Sprintf("certs=%d/origins=%d", c.certs, c.origins), func(b *testing.B) {
			for b.Loop() {
				tracker, seen := trackedMemory(c.certs, c.origins)
				b.ReportMetric(tracker+seen, "bytes/cert")
				b.ReportMetric(tracker, "tracker-bytes/cert")
				b.ReportMetric(seen, "seen-bytes/cert")
			}
		})
	}
}

// trackedMemory fills a tracker and a seen-set with n certificates and
// returns the heap each holds per certificate.
func trackedMemory(n, origins int) (tracker, seen float64) {
	now := time.Now()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	tr := canary.NewTracker(origins, n)
	// The change set a store empties every 2 s is not the tracker's keep:
	// with a store, it holds only the last 2 s of changes.
	tr.KeepChanges(false)
	for i := 0; i < n; i++ {
		tr.Add(canary.IssuedCert{Serial: probesSerial(i), PublishedAt: now.Add(time.Duration(i)), Kind: canary.KindCertificate})
	}
	h1 := heap()
	ss := canary.NewSeenSet(n)
	raw := make([]byte, 1200)
	for i := 0; i < n; i++ {
		copy(raw, strconv.Itoa(i))
		ss.Add(raw)
	}
	h2 := heap()
	runtime.KeepAlive(tr)
	runtime.KeepAlive(ss)
	return float64(h1-h0) / float64(n), float64(h2-h1) / float64(n)
}

func labtestWaitReplicated(b *testing.B, lab *labtest.Lab, want int) {
	for i := 0; i < 50; i++ {
		if n, _ := strconv.Atoi(lab.SQL(b, "replica-1", "SELECT count(*) FROM ocsp_responses r JOIN certificates c USING (serial_number) WHERE c.ca_label = 'bulk'")); n >= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("bulk rows did not reach replica-1")
}

func readPID(b *testing.B, path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf reads utime+stime of another process from /proc (clock ticks of 10ms).
func cpuOf(b *testing.B, pid int) time.Duration {
	st, err := procStat(pid)
	if err != nil {
		b.Fatal(err)
	}
	return st.cpu
}

type procStatus struct {
	ppid int
	// cpu: utime+stime; children: cutime+cstime (children it has reaped).
	cpu, children time.Duration
}

func procStat(pid int) (procStatus, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStatus{}, err
	}
	// Fields after "(comm) ": state ppid ... utime(14) stime cutime cstime.
	fields := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	tick := func(i int) time.Duration {
		v, _ := strconv.Atoi(fields[i])
		return time.Duration(v) * 10 * time.Millisecond
	}
	ppid, _ := strconv.Atoi(fields[1])
	return procStatus{ppid: ppid, cpu: tick(11) + tick(12), children: tick(13) + tick(14)}, nil
}

// pgCPU is the CPU of a PostgreSQL node: its postmaster, every live child
// (backends, walreceiver, startup, ...) and the children it has reaped.
// A backend that exits between two readings moves from the children to the
// postmaster's cutime, so differences stay whole.
func pgCPU(b *testing.B, postmaster int) time.Duration {
	pm, err := procStat(postmaster)
	if err != nil {
		b.Fatal(err)
	}
	total := pm.cpu + pm.children
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if st, err := procStat(pid); err == nil && st.ppid == postmaster {
			total += st.cpu
		}
	}
	return total
}
