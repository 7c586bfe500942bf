package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// receiver records what Alertmanager delivers, by path (the receiver).
type receiver struct {
	mu    sync.Mutex
	got   []delivery
	first map[string]time.Time // receiver/alertname/status -> first arrival
}

type delivery struct {
	at       time.Time
	receiver string
	status   string
	labels   map[string]string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(req.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, a := range msg.Alerts {
		d := delivery{at: now, receiver: strings.Trim(req.URL.Path, "/"), status: a.Status, labels: a.Labels}
		r.got = append(r.got, d)
		key := d.receiver + "/" + a.Labels["alertname"] + "/" + a.Status
		if _, ok := r.first[key]; !ok {
			r.first[key] = now
		}
	}
}

// find returns the first delivery to rcv of a firing alert with these labels.
func (r *receiver) find(rcv string, labels map[string]string) (delivery, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
outer:
	for _, d := range r.got {
		if d.receiver != rcv || d.status != "firing" {
			continue
		}
		for k, v := range labels {
			if d.labels[k] != v {
				continue outer
			}
		}
		return d, true
	}
	return delivery{}, false
}

func (r *receiver) count(rcv, alertname string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, d := range r.got {
		if d.receiver == rcv && d.labels["alertname"] == alertname {
			n++
		}
	}
	return n
}

func startProcess(t *testing.T, logPath string, name string, args ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- %s log (tail):\n%s", filepath.Base(name), b)
		}
	})
	return cmd
}

func lookPath(t *testing.T, names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v installed: run make deps", names)
	return ""
}

// The paging path, end to end: a fault in the lab becomes a page at the
// receiver, the Watchdog keeps arriving, and a dead exporter pages too.
func TestEndToEndPaging(t *testing.T) {
	lab := labtest.Up(t)
	prometheus := lookPath(t, "prometheus")
	alertmanager := lookPath(t, "prometheus-alertmanager", "alertmanager")
	dir := t.TempDir()
	rules, err := filepath.Abs("../alerts/certstatus.rules.yml")
	if err != nil {
		t.Fatal(err)
	}

	rec := &receiver{first: map[string]time.Time{}}
	hook := httptest.NewServer(rec)
	t.Cleanup(hook.Close)

	// The exporter: replication plus the canary with a 30 s SLA.
	const sla = 30 * time.Second
	cfgPath := filepath.Join(dir, "certstatus.yml")
	cfg := labConfigYAML(lab) + ocspConfig(t, lab, t.TempDir(), sla)
	cfg = strings.ReplaceAll(cfg, "method: GET", "method: POST") // GET has its own finding; keep the fault single
	writeFile(t, cfgPath, cfg)
	exp := runBinary(t, cfgPath)
	expAddr := strings.TrimPrefix(exp.url, "http://")

	amAddr, promAddr := freeAddr(t), freeAddr(t)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), fmt.Sprintf(`route:
  receiver: queue
  group_by: [alertname, replica, origin, source, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {matchers: [alertname = "Watchdog"], receiver: deadmans-switch, repeat_interval: 5s}
    - {matchers: [severity = "page"], receiver: pager}
    - {matchers: [severity = "ticket"], receiver: queue}
receivers:
  - {name: pager, webhook_configs: [{url: "%[1]s/pager"}]}
  - {name: queue, webhook_configs: [{url: "%[1]s/queue"}]}
  - {name: deadmans-switch, webhook_configs: [{url: "%[1]s/deadmans-switch"}]}
`, hook.URL))
	startProcess(t, filepath.Join(dir, "alertmanager.log"), alertmanager,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
  - job_name: certstatus
    static_configs: [{targets: [%q]}]
`, rules, amAddr, expAddr))
	startProcess(t, filepath.Join(dir, "prometheus.log"), prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr,
		// Resend firing alerts every second (default 1m): the first send can
		// be dropped before the Alertmanager is discovered.
		"--rules.alert.resend-delay=1s")

	// The Watchdog arrives, and keeps arriving.
	start := time.Now()
	eventually(t, 60*time.Second, "Watchdog at the dead man's switch, twice", func() error {
		if n := rec.count("deadmans-switch", "Watchdog"); n < 2 {
			return fmt.Errorf("%d Watchdog deliveries", n)
		}
		return nil
	})
	report := []string{fmt.Sprintf("Watchdog: first at the dead man's switch %s after start, repeating every ~5s",
		rec.first["deadmans-switch/Watchdog/firing"].Sub(start).Round(time.Second))}

	// Fault: replica-1's replay paused, then a certificate issued.
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()") })
	fault := time.Now()
	lab.Issue(t)
	var page delivery
	eventually(t, sla+3*time.Minute, "CertstatusOCSPOverdue page for origin-1", func() error {
		var ok bool
		page, ok = rec.find("pager", map[string]string{"alertname": "CertstatusOCSPOverdue", "origin": "origin-1", "severity": "page"})
		if !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if _, ok := rec.find("pager", map[string]string{"alertname": "CertstatusOCSPOverdue", "origin": "origin-2"}); ok {
		t.Error("origin-2 paged overdue, but its replica has the certificate")
	}
	report = append(report, fmt.Sprintf("CertstatusOCSPOverdue{origin=origin-1,severity=page}: fault (replay paused + certificate issued) to page %s (SLA %s + for 1m)",
		page.at.Sub(fault).Round(time.Second), sla))
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")

	// The exporter dies.
	stopped := time.Now()
	_ = exp.cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, 3*time.Minute, "CertstatusExporterDown page", func() error {
		var ok bool
		page, ok = rec.find("pager", map[string]string{"alertname": "CertstatusExporterDown", "severity": "page"})
		if !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	report = append(report, fmt.Sprintf("CertstatusExporterDown{severity=page}: exporter stopped to page %s (for 1m)",
		page.at.Sub(stopped).Round(time.Second)))
	if n := rec.count("deadmans-switch", "Watchdog"); n < 10 {
		t.Errorf("only %d Watchdog deliveries over the run; want it continuous", n)
	}
	for _, d := range rec.got {
		if d.receiver == "pager" && d.labels["severity"] != "page" || d.receiver == "queue" && d.labels["severity"] != "ticket" {
			t.Errorf("%s routed to %s", d.labels["alertname"], d.receiver)
		}
	}
	for _, line := range report {
		t.Log(line)
		fmt.Println("e2e:", line)
	}
}

// labConfigYAML is labConfig's text, for a file the binary reads.
func labConfigYAML(lab *labtest.Lab) string {
	e := lab.Env
	return fmt.Sprintf(`primary: {dsn: %q, password_file: %s}
replicas:
  - {name: replica-1, dsn: %q, password_file: %s}
  - {name: replica-2, dsn: %q, password_file: %s}
replication: {interval: 1s, timeout: 500ms, rate_window: 10s, history: 10m}
`, e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"], e["LAB_REPLICA1_DSN"], e["LAB_PASSWORD_FILE"], e["LAB_REPLICA2_DSN"], e["LAB_PASSWORD_FILE"])
}
