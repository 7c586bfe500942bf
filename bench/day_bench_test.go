package bench

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

// A compressed day of Let's Encrypt-scale issuance (issue 12): 100 new
// serials a second, each a certificate and a precertificate, with track_for
// and recheck_interval scaled together so that track_for/recheck_interval is
// 288, as with the defaults (24h/5m), and the SLA by the same factor.
const (
	dayRate     = 100 // new serials per second
	dayTrackFor = 8 * time.Minute
	dayRecheck  = dayTrackFor / 288                           // 1.667s
	daySLA      = dayTrackFor * time.Duration(15) / (24 * 60) // 5s: 15m of 24h
	dayMargin   = 3 * time.Minute                             // at full tracked load
	dayIssuing  = dayTrackFor + dayMargin                     // how long the issuer writes
	daySerials  = int(dayIssuing/time.Second) * dayRate       // pre-generated: 66,000
	daySpool    = time.Minute                                 // the CA keeps a spool file this long
	dayDrain    = time.Minute                                 // after issuance, for the last answers
	dayInterval = time.Second                                 // ocsp.interval, and each request's timeout
	dayOrigins  = 1                                           // origins configured, all the same helper
	dayConc     = config.DefaultConcurrency                   // requests in flight per origin
	dayMaxTrack = config.DefaultMaxTracked                    // 200,000 ≥ rate × track_for (48,000)
	daySerial0  = int64(1) << 40                              // serial i is daySerial0+i
	dayHelperUp = 5 * time.Minute                             // the helper issues everything before it listens
	dayEnv      = "CERTSTATUS_BENCH_HELPER"                   // set in the helper process
	dayDirEnv   = "CERTSTATUS_BENCH_DIR"                      // its directory
	dayCertKind = "cert"                                      // spool file suffixes
	dayPreKind  = "pre"
)

// TestHelperProcess is the fast local origin of BenchmarkCompressedDay, run
// as a separate process (the test binary re-executed) so that its CPU is not
// the exporter's. It makes a throwaway CA, issues daySerials certificates
// and precertificates into DIR/stage, writes DIR/issuer.pem, then serves
// OCSP on loopback: good for any serial of its CA, each serial signed once
// and the same bytes returned afterwards. It prints "ready ADDR" and runs
// until its stdin closes. GET /firstseen lists each serial's first request.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(dayEnv) != "ocsp-origin" {
		return
	}
	dir := os.Getenv(dayDirEnv)
	p := testpki.New(t)
	issuer, err := ocsp.NewIssuer(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "issuer.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(dir, "stage")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < daySerials; i = int(next.Add(1) - 1) {
				serial := daySerial0 + int64(i)
				for _, kind := range []string{dayCertKind, dayPreKind} {
					der := p.Leaf(t, serial, kind == dayPreKind)
					if err := os.WriteFile(filepath.Join(stage, daySpoolName(i, kind)), der, 0o644); err != nil {
						failed.Store(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}

	o := &fastOrigin{answers: map[string]*fastAnswer{}, keyHash: issuer.KeyHash,
		sign: func(serial *big.Int) []byte { return p.Response(t, serial, p.CA, p.CAKey, nil) }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ready %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(ln, o)
}

// fastOrigin answers OCSP requests from a per-serial cache of signed answers.
type fastOrigin struct {
	keyHash []byte
	sign    func(*big.Int) []byte
	mu      sync.RWMutex
	answers map[string]*fastAnswer
}

type fastAnswer struct {
	der   []byte
	first int64 // Unix ns of the first request
}

// unauthorized is the OCSP "unauthorized" error response (RFC 6960 2.3).
var unauthorized = []byte{0x30, 0x03, 0x0a, 0x01, 0x06}

func (o *fastOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/firstseen" {
		o.mu.RLock()
		defer o.mu.RUnlock()
		bw := bufio.NewWriter(w)
		for k, a := range o.answers {
			fmt.Fprintf(bw, "%x %d\n", k, a.first)
		}
		_ = bw.Flush()
		return
	}
	req, err := testpki.ParseOCSPRequest(r)
	w.Header().Set("Content-Type", "application/ocsp-response")
	if err != nil || !bytes.Equal(req.IssuerKeyHash, o.keyHash) {
		_, _ = w.Write(unauthorized)
		return
	}
	key := string(req.SerialNumber.Bytes())
	o.mu.RLock()
	a := o.answers[key]
	o.mu.RUnlock()
	if a == nil {
		now := time.Now().UnixNano()
		der := o.sign(req.SerialNumber)
		o.mu.Lock()
		if a = o.answers[key]; a == nil {
			a = &fastAnswer{der: der, first: now}
			o.answers[key] = a
		}
		o.mu.Unlock()
	}
	_, _ = w.Write(a.der)
}

func daySpoolName(i int, kind string) string { return fmt.Sprintf("%07d.%s.der", i, kind) }

// startFastOrigin re-executes the test binary as the helper origin and
// returns its address and pid once it has issued everything.
func startFastOrigin(b *testing.B, dir string) (addr string, pid int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), dayEnv+"=ocsp-origin", dayDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the helper exits when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				lines <- a
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr = <-lines:
	case <-time.After(dayHelperUp):
		b.Fatal("helper origin did not come up")
	}
	return addr, cmd.Process.Pid
}

// threadCPU is the CPU of the calling OS thread (lock the goroutine first).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveHeap is the heap the last GC found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// daySample is one reading of the exporter's own metrics and of the CPU.
type daySample struct {
	at                time.Time
	issued            int     // serials written into the spool so far
	responses         float64 // OCSP answers recorded, every origin, any result
	nonAuth           float64 // of which not good or revoked
	firstAuth         float64 // first authoritative answers (time_to_authoritative count)
	firstAuthSum      float64
	tracked           float64
	pending, overdue  float64 // summed over origins
	self, helper      time.Duration
	issuerCPU, sample time.Duration // CPU of the bench's own threads, not the exporter's
	heap              uint64
}

func gatherDay(b *testing.B, g interface {
	Gather() ([]*dto.MetricFamily, error)
}, origins []string) daySample {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var s daySample
	for _, o := range origins {
		for _, r := range ocsp.Results() {
			v, _ := metrictest.Sample(mfs, "certstatus_ocsp_responses_total", "origin", o, "result", r.String())
			s.responses += v
			if !r.Authoritative() {
				s.nonAuth += v
			}
		}
		if m := metrictest.Find(mfs, "certstatus_ocsp_time_to_authoritative_seconds", "origin", o); m != nil {
			s.firstAuth += float64(m.GetHistogram().GetSampleCount())
			s.firstAuthSum += m.GetHistogram().GetSampleSum()
		}
		p, _ := metrictest.Sample(mfs, "certstatus_ocsp_certificates", "origin", o, "state", "pending")
		od, _ := metrictest.Sample(mfs, "certstatus_ocsp_certificates", "origin", o, "state", "overdue")
		s.pending += p
		s.overdue += od
	}
	s.tracked, _ = metrictest.Sample(mfs, "certstatus_ocsp_tracked_certificates")
	return s
}

// BenchmarkCompressedDay runs the real canary component (built by the
// exporter from a config.Config with a store, as main does) with a dir spool source and
// a fast local origin in another process, while an issuer writes 100 new
// serials a second into the spool for track_for plus a margin. It reports,
// from the exporter's own metrics, the time to the first authoritative
// answer, first checks and rechecks per second per origin, the process's
// CPU in cores per origin and its heap per tracked certificate (the live heap
// after the last GC, runtime/metrics, less the same before the canary was
// built); per minute in the log, and as the median of the minutes at full
// tracked load as metrics. The
// only assertion is correctness: every certificate ends authoritative.
// About 12 minutes; run it with -benchtime 1x.
func BenchmarkCompressedDay(b *testing.B) {
	if testing.Short() {
		b.Skip("12 minutes")
	}
	for range b.N {
		compressedDay(b)
	}
}

func compressedDay(b *testing.B) {
	dir := b.TempDir()
	t0 := time.Now()
	addr, helperPID := startFastOrigin(b, dir)
	b.Logf("helper origin %s: %d serials (%d files) issued in %s", addr, daySerials, 2*daySerials, time.Since(t0).Round(time.Second))
	spool := filepath.Join(dir, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		b.Fatal(err)
	}
	var origins []string
	var originsYAML strings.Builder
	for i := range dayOrigins {
		name := fmt.Sprintf("fast-%d", i+1)
		origins = append(origins, name)
		fmt.Fprintf(&originsYAML, "    - {name: %s, url: \"http://%s/\", concurrency: %d, timeout: %s, compliance: false}\n",
			name, addr, dayConc, dayInterval)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	yml := fmt.Sprintf(`ocsp:
  interval: %s
  timeout: %s
  sla: %s
  track_for: %s
  recheck_interval: %s
  max_tracked: %d
  # The demand is 100 × (1 + log2(288)) = 900 rechecks/s (docs/ocsp-load.md):
  # the budget docs/ocsp-load.md gives for Let's Encrypt scale.
  recheck_rate: 1000
  issuers: [%q]
  sources:
    - {name: spool, type: dir, path: %q}
  origins:
%s`, dayInterval, dayInterval, daySLA, dayTrackFor, dayRecheck, dayMaxTrack,
		filepath.Join(dir, "issuer.pem"), spool, originsYAML.String())
	if err := os.WriteFile(cfgPath, []byte(yml), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "exporter.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// As main builds it: every domain, a store under the storage path.
	runtime.GC()
	heap0 := liveHeap()
	st := store.Open(filepath.Join(dir, "data"), logger)
	defer st.Close()
	exp := exporter.New(logger, domains.All(logger, st)...)
	reg := exporter.NewRegistry(exp, st)
	exp.ApplyConfig(cfg)
	defer exp.Stop()

	// The issuer: serial i goes into the spool at start + i/dayRate, its
	// two files each given that time as mtime and renamed in (atomic); files
	// older than daySpool are removed, as a CA rotates its spool. Its own
	// thread, so its CPU can be taken out of the process's.
	written := make([]int64, daySerials) // Unix ns, by serial index
	var issued atomic.Int64
	var issuerCPU atomic.Int64
	stage := filepath.Join(dir, "stage")
	start := time.Now()
	issuerDone := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; i < daySerials; i++ {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / dayRate)); d > 0 {
				issuerCPU.Store(int64(threadCPU()))
				time.Sleep(d)
			}
			now := time.Now()
			for _, kind := range []string{dayCertKind, dayPreKind} {
				name := daySpoolName(i, kind)
				from := filepath.Join(stage, name)
				if err := os.Chtimes(from, now, now); err != nil {
					issuerDone <- err
					return
				}
				if err := os.Rename(from, filepath.Join(spool, name)); err != nil {
					issuerDone <- err
					return
				}
				if old := i - int(daySpool/time.Second)*dayRate; old >= 0 {
					_ = os.Remove(filepath.Join(spool, daySpoolName(old, kind)))
				}
			}
			written[i] = now.UnixNano()
			issued.Store(int64(i + 1))
		}
		issuerCPU.Store(int64(threadCPU()))
		issuerDone <- nil
	}()

	// The sampler, on its own thread too: the exporter's metrics every
	// second (pending and overdue peaks), everything else every minute.
	type minuteRow struct {
		from, to             daySample
		maxPending, maxOverd float64
	}
	var rows []minuteRow
	runtime.LockOSThread()
	sample := func() daySample {
		s := gatherDay(b, reg, origins)
		s.at, s.issued = time.Now(), int(issued.Load())
		s.self, s.helper = cpuSelf(), cpuOf(b, helperPID)
		s.issuerCPU, s.sample = time.Duration(issuerCPU.Load()), threadCPU()
		if h := liveHeap(); h > heap0 {
			s.heap = h - heap0
		}
		return s
	}
	prev := sample()
	row := minuteRow{from: prev}
	var issueErr error
	issuing := true
	tick := time.NewTicker(time.Second)
	for issuing {
		<-tick.C
		select {
		case issueErr = <-issuerDone:
			issuing = false
		default:
		}
		s := sample()
		row.maxPending, row.maxOverd = max(row.maxPending, s.pending), max(row.maxOverd, s.overdue)
		if s.at.Sub(row.from.at) >= time.Minute || !issuing {
			row.to = s
			rows = append(rows, row)
			row = minuteRow{from: s}
		}
	}
	tick.Stop()
	runtime.UnlockOSThread()
	if issueErr != nil {
		b.Fatal(issueErr)
	}
	// Drain: stop when every serial has its first authoritative answer at
	// every origin.
	deadline := time.Now().Add(dayDrain)
	var last daySample
	for {
		last = gatherDay(b, reg, origins)
		if int(last.firstAuth) >= daySerials*dayOrigins || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	b.StopTimer()

	b.Logf("compressed day: %d serials/s (certificate + precertificate), track_for %s, recheck_interval %s (ratio 288), sla %s, interval %s, %d origin(s), %d in flight each",
		dayRate, dayTrackFor, dayRecheck, daySLA, dayInterval, dayOrigins, dayConc)
	b.Logf("%-4s %8s %8s %10s %10s %8s %9s %8s %8s %12s %10s %10s", "min", "issued", "tracked", "first/s/o", "rechk/s/o", "nonauth", "tta-mean", "max-pend", "max-over",
		"cores/origin", "helper-µs", "heap-B/cert")
	type summary struct{ first, recheck, cores, helperPer, heapPer, tta float64 }
	var steady []summary
	for i, r := range rows {
		secs := r.to.at.Sub(r.from.at).Seconds()
		resp := r.to.responses - r.from.responses
		first := r.to.firstAuth - r.from.firstAuth
		nonAuth := r.to.nonAuth - r.from.nonAuth
		// A check of a certificate not yet authoritative there is a first
		// check (it ends good, or not authoritative yet); every other
		// answer is a recheck.
		firstChecks := first + nonAuth
		rechecks := resp - firstChecks
		exporterCPU := (r.to.self - r.from.self) - (r.to.issuerCPU - r.from.issuerCPU) - (r.to.sample - r.from.sample)
		cores := exporterCPU.Seconds() / secs / dayOrigins
		helperPer := float64((r.to.helper - r.from.helper).Microseconds()) / max(resp, 1)
		tta := (r.to.firstAuthSum - r.from.firstAuthSum) / max(first, 1)
		heapPer := float64(r.to.heap) / max(r.to.tracked, 1)
		b.Logf("%-4d %8d %8.0f %10.0f %10.0f %8.0f %8.2fs %8.0f %8.0f %12.2f %10.0f %10.0f", i+1, r.to.issued, r.to.tracked,
			firstChecks/secs/dayOrigins, rechecks/secs/dayOrigins, nonAuth, tta, r.maxPending, r.maxOverd, cores, helperPer, heapPer)
		// Full tracked load: the minutes that end after one track_for.
		if r.from.at.Sub(start) >= dayTrackFor && secs >= time.Minute.Seconds()/2 {
			steady = append(steady, summary{firstChecks / secs / dayOrigins, rechecks / secs / dayOrigins, cores, helperPer, heapPer, tta})
		}
	}
	if int(last.firstAuth) < daySerials*dayOrigins {
		b.Fatalf("only %.0f of %d serials got an authoritative answer at every origin within %s of the end of issuance",
			last.firstAuth, daySerials*dayOrigins, dayDrain)
	}

	// Time from the spool file to the origin's first request for the serial,
	// as the origin saw it (precise, where the histogram's first bucket is 5s).
	lat := firstSeen(b, addr, written)
	tta := last.firstAuthSum / last.firstAuth
	b.Logf("first request after the spool file (at the origin): p50 %s, p99 %s, max %s; ≤ 1 interval: %.2f%%; time to authoritative (exporter histogram) mean %.2fs",
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], 100*fracAtMost(lat, dayInterval), tta)
	if logs, _ := os.ReadFile(logFile.Name()); len(logs) > 0 {
		lines := strings.Split(strings.TrimSpace(string(logs)), "\n")
		b.Logf("exporter log: %d warning lines; first: %s", len(lines), lines[0])
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(tta, "tta-mean-s")
	b.ReportMetric(lat[len(lat)*99/100].Seconds(), "first-req-p99-s")
	b.ReportMetric(lat[len(lat)-1].Seconds(), "first-req-max-s")
	if len(steady) == 0 {
		return
	}
	med := func(f func(summary) float64) float64 {
		v := make([]float64, len(steady))
		for i, s := range steady {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(med(func(s summary) float64 { return s.first }), "first-checks/s/origin")
	b.ReportMetric(med(func(s summary) float64 { return s.recheck }), "rechecks/s/origin")
	b.ReportMetric(med(func(s summary) float64 { return s.cores }), "cores/origin")
	b.ReportMetric(med(func(s summary) float64 { return s.helperPer }), "origin-µs/answer")
	b.ReportMetric(med(func(s summary) float64 { return s.heapPer }), "heap-B/cert")
}

// firstSeen reads the helper's first request time per serial and returns,
// sorted, how long after its spool file each serial was first asked about.
func firstSeen(b *testing.B, addr string, written []int64) []time.Duration {
	resp, err := http.Get("http://" + addr + "/firstseen")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		hexSerial, at, _ := strings.Cut(sc.Text(), " ")
		serial, ok := new(big.Int).SetString(hexSerial, 16)
		ns, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			b.Fatalf("helper: bad line %q", sc.Text())
		}
		i := int(serial.Int64() - daySerial0)
		if i < 0 || i >= len(written) || written[i] == 0 {
			continue
		}
		out = append(out, time.Duration(ns-written[i]))
	}
	if len(out) == 0 {
		b.Fatal("helper saw no request")
	}
	slices.Sort(out)
	return out
}

func fracAtMost(sorted []time.Duration, d time.Duration) float64 {
	n, _ := slices.BinarySearch(sorted, d+1)
	return float64(n) / float64(len(sorted))
}
