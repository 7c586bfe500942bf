package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"math"

	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// buildBinary builds certstatus_exporter once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "certstatus-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "certstatus_exporter")
		out, err := exec.Command("go", "build", "-o", binary, "..").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runBinary starts the real binary with a config file and its own storage
// directory, and waits until ready.
func runBinary(t *testing.T, configPath string) *running {
	t.Helper()
	return runBinaryStorage(t, configPath, t.TempDir())
}

// runBinaryStorage starts the binary on a given storage directory (to
// restart it on the same state).
func runBinaryStorage(t *testing.T, configPath, storage string) *running {
	t.Helper()
	addr := freeAddr(t)
	logs := &syncBuffer{}
	cmd := exec.Command(buildBinary(t), "--config.file="+configPath, "--web.listen-address="+addr,
		"--log.level=debug", "--storage.path="+storage)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	r := &running{cmd: cmd, url: "http://" + addr, logs: logs}
	eventually(t, 10*time.Second, "exporter ready", func() error {
		_, err := r.get("/-/ready")
		return err
	})
	return r
}

func (r *running) get(path string) (string, error) {
	resp, err := http.Get(r.url + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

// sample reads one series from /metrics; NaN when absent.
func (r *running) sample(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	body, err := r.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	families := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		families = append(families, mf)
	}
	if v, ok := metrictest.Sample(families, name, labels...); ok {
		return v
	}
	return math.NaN()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The primary stopped: scrapes stay under 100 ms and report it down. No DSN
// password reaches a log line, a metric, the status page or a reload error.
func TestBinaryPrimaryDownAndSecrets(t *testing.T) {
	lab := labtest.Up(t)
	e := lab.Env
	const (
		goodInline  = "monitor-lab-secret" // the lab's real password, inline in a DSN
		wrongInline = "wrong-secret-7731"  // a wrong one: auth failures get logged
		reloadPW    = "reload-secret-991"  // in a config the reload must refuse
	)
	withPW := func(dsn, pw string) string { return strings.Replace(dsn, "monitor@", "monitor:"+pw+"@", 1) }
	dir := t.TempDir()
	good := fmt.Sprintf(`primary:
  dsn: %q
replicas:
  - name: replica-1
    dsn: %q
    password_file: %s
  - name: replica-2
    dsn: %q
replication:
  interval: 1s
  timeout: 500ms
  rate_window: 10s
`, withPW(e["LAB_PRIMARY_DSN"], goodInline), e["LAB_REPLICA1_DSN"], e["LAB_PASSWORD_FILE"], withPW(e["LAB_REPLICA2_DSN"], wrongInline))
	cfgPath := filepath.Join(dir, "certstatus.yml")
	writeFile(t, cfgPath, good)
	r := runBinary(t, cfgPath)

	eventually(t, 10*time.Second, "primary up, replica-2 refused", func() error {
		if v := r.sample(t, "certstatus_primary_up"); v != 1 {
			return fmt.Errorf("primary_up = %v", v)
		}
		if v := r.sample(t, "certstatus_probe_failures_total", "target", "replica-2", "reason", "auth"); !(v >= 1) {
			return fmt.Errorf("replica-2 auth failures = %v", v)
		}
		return nil
	})

	lab.Run(t, "stop", "primary")
	t.Cleanup(func() { lab.Run(t, "start", "primary") })
	eventually(t, 5*time.Second, "primary reported down", func() error {
		if v := r.sample(t, "certstatus_primary_up"); v != 0 {
			return fmt.Errorf("primary_up = %v", v)
		}
		return nil
	})
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		if _, err := r.get("/metrics"); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
		time.Sleep(100 * time.Millisecond)
	}
	if slowest >= 100*time.Millisecond {
		t.Errorf("slowest of 20 scrapes with the primary stopped: %s, want < 100ms", slowest)
	}
	t.Logf("primary stopped: slowest of 20 scrapes over HTTP %s", slowest)
	if v := r.sample(t, "certstatus_replica_up", "replica", "replica-1"); v != 1 {
		t.Errorf("replica-1 up = %v while only the primary is down", v)
	}

	// A reload with a broken DSN is refused, quoting no password; the old
	// config keeps running.
	writeFile(t, cfgPath, strings.Replace(good, withPW(e["LAB_PRIMARY_DSN"], goodInline),
		"postgres://monitor:"+reloadPW+"@127.0.0.1:notaport/certdb", 1))
	resp, err := http.Post(r.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "primary.dsn: cannot parse DSN") {
		t.Errorf("bad reload: %s %q; want 400 naming primary.dsn", resp.Status, body)
	}
	if v := r.sample(t, "certstatus_config_last_reload_successful"); v != 0 {
		t.Errorf("config_last_reload_successful = %v after a refused reload", v)
	}
	if v := r.sample(t, "certstatus_replica_up", "replica", "replica-1"); v != 1 {
		t.Errorf("old config stopped running after a refused reload: replica-1 up = %v", v)
	}
	if resp, err := http.Get(r.url + "/-/reload"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %v %v; want 405", resp.Status, err)
	}

	// SIGHUP with the good file back: reloaded.
	writeFile(t, cfgPath, good)
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "SIGHUP reload", func() error {
		if v := r.sample(t, "certstatus_config_last_reload_successful"); v != 1 {
			return fmt.Errorf("config_last_reload_successful = %v", v)
		}
		return nil
	})

	status, err := r.get("/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "replica-2") || !strings.Contains(status, "password authentication failed") {
		t.Errorf("status page does not show replica-2's auth failure:\n%s", status)
	}
	metrics, _ := r.get("/metrics")
	landing, _ := r.get("/")
	for where, text := range map[string]string{"logs": r.logs.String(), "/metrics": metrics, "/status": status, "/": landing, "reload error": string(body)} {
		for _, pw := range []string{goodInline, wrongInline, reloadPW} {
			if strings.Contains(text, pw) {
				t.Errorf("%s contains the password %q", where, pw)
			}
		}
	}
	if !strings.Contains(r.logs.String(), "password authentication failed") {
		t.Error("logs do not mention the auth failure at all; the secret check above proves nothing")
	}
}

// --config.check exits 0 with OK on a good file and 1 naming the key on a bad one.
func TestBinaryConfigCheck(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "--config.check", "--config.file=../config/testdata/bad/bad_duration.yml").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "replication.interval: invalid duration") {
		t.Errorf("bad file: err %v, output %s", err, out)
	}
	cmd := exec.Command(bin, "--config.check", "--config.file=../config/testdata/good.yml")
	cmd.Env = append(os.Environ(), "CERTDB_PASSWORD=x")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Errorf("good file: err %v, output %s", err, out)
	}
}
