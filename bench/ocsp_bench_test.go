package bench

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

const benchCerts = 10000

// bulkCerts makes sure the lab has benchCerts bulk certificates with OCSP
// rows and returns them as the canary would track them.
func bulkCerts(b *testing.B, lab *labtest.Lab) ([]canary.IssuedCert, *ocsp.Issuer) {
	have, _ := strconv.Atoi(lab.SQL(b, "primary", "SELECT count(*) FROM certificates WHERE ca_label = 'bulk'"))
	if have < benchCerts {
		lab.Run(b, "bulk", strconv.Itoa(benchCerts-have))
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
	rows, err := conn.Query(ctx, "SELECT pem FROM certificates WHERE ca_label = 'bulk' LIMIT $1", benchCerts)
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
	if rows.Err() != nil || len(certs) != benchCerts {
		b.Fatalf("read %d bulk certificates: %v", len(certs), rows.Err())
	}
	return certs, issuer
}

// BenchmarkOCSPChecks: checks per second against one local cfssl origin
// with 10,000 tracked certificates, 4 POST requests in flight, and CPU per check
// in this process and in the origin.
func BenchmarkOCSPChecks(b *testing.B) {
	lab := labtest.Up(b)
	certs, issuer := bulkCerts(b, lab)
	tr := canary.NewTracker(1, benchCerts)
	for _, c := range certs {
		tr.Add(c)
	}
	// The replica must have the rows before the origin can answer good.
	labtestWaitReplicated(b, lab)
	// POST: GET requests whose base64 holds "//" get 400 from cfssl (see
	// ocsp.GetURL); that is a finding, not a throughput number.
	client := &ocsp.Client{URL: lab.Env["LAB_ORIGIN1_URL"], Method: http.MethodPost,
		HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 5 * time.Second}}
	due := tr.Due(0, time.Now())
	originPID := readPID(b, filepath.Join(lab.Dir(), "run", "origin-1.pid"))

	var next int64
	var mu sync.Mutex
	good := 0
	others := map[string]int{}
	selfBefore, originBefore := cpuSelf(), cpuOf(b, originPID)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= int64(b.N) {
					return
				}
				d := due[i%int64(len(due))]
				res := client.Check(context.Background(), issuer, d.Serial, time.Now)
				tr.Record(0, d, res, time.Now())
				mu.Lock()
				if res.Result == ocsp.ResultGood {
					good++
				} else {
					others[res.Result.String()+": "+res.Detail]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if good != b.N {
		b.Fatalf("%d of %d checks were good; the others: %v", good, b.N, others)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
	b.ReportMetric(float64((cpuSelf()-selfBefore).Microseconds())/float64(b.N), "exporter-cpu-µs/check")
	b.ReportMetric(float64((cpuOf(b, originPID)-originBefore).Microseconds())/float64(b.N), "origin-cpu-µs/check")
}

// BenchmarkTrackedMemory: heap bytes per tracked certificate, with three
// origins and the source's seen-set, at 100,000 certificates.
func BenchmarkTrackedMemory(b *testing.B) {
	const n = 100000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tr := canary.NewTracker(3, n)
		seen := canary.NewSeenSet(n)
		raw := make([]byte, 1200)
		now := time.Now()
		for i := 0; i < n; i++ {
			copy(raw, strconv.Itoa(i))
			seen.Add(raw)
			serial := probesSerial(i)
			tr.Add(canary.IssuedCert{Serial: serial, PublishedAt: now.Add(time.Duration(i)), Kind: canary.KindCertificate})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/cert")
		runtime.KeepAlive(tr)
		runtime.KeepAlive(seen)
	}
}

func labtestWaitReplicated(b *testing.B, lab *labtest.Lab) {
	for i := 0; i < 50; i++ {
		if n, _ := strconv.Atoi(lab.SQL(b, "replica-1", "SELECT count(*) FROM ocsp_responses r JOIN certificates c USING (serial_number) WHERE c.ca_label = 'bulk'")); n >= benchCerts {
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
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
