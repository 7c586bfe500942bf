package exporter

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

var upDesc = target.Desc("test_up", "Whether the test component runs.", "name")

// recorder is a domain whose components record how the exporter drives
// them: the exporter's own contract, tested without any real probe.
type recorder struct {
	mu     sync.Mutex
	closed []string // "name->next" for each Close
}

type recComponent struct {
	d       *recorder
	name    string
	started bool
}

func (d *recorder) Name() string                        { return "recorder" }
func (d *recorder) Describe(ch chan<- *prometheus.Desc) { ch <- upDesc }

// Build reuses prev while the number of replicas is unchanged.
func (d *recorder) Build(cfg *config.Config, prev Component) (Component, error) {
	if len(cfg.Replicas) == 0 {
		return nil, nil
	}
	name := cfg.Replicas[0].Name
	if p, ok := prev.(*recComponent); ok && p.name == name {
		return p, nil
	}
	return &recComponent{d: d, name: name}, nil
}

func (c *recComponent) Start(ctx context.Context, wg *sync.WaitGroup) {
	c.started = true
	wg.Add(1)
	go func() { defer wg.Done(); <-ctx.Done() }()
}

func (c *recComponent) Close(next Component) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	n := "nil"
	if nc, ok := next.(*recComponent); ok {
		n = nc.name
	}
	c.d.closed = append(c.d.closed, c.name+"->"+n)
}

func (c *recComponent) Collect(ch chan<- prometheus.Metric) {
	ch <- target.BoolGauge(upDesc, c.started, c.name)
}
func (c *recComponent) Status() []target.Row {
	return []target.Row{{Probe: "test", Target: c.name, Probed: true, Up: true, Summary: "3 pending"}}
}

func (d *recorder) closes() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.closed...)
}

func cfgWith(name string) *config.Config {
	if name == "" {
		return &config.Config{}
	}
	return &config.Config{Replicas: []config.Replica{{Name: name}}}
}

// A reload keeps an unchanged component, closes a replaced one with its
// successor (so it can keep what is reused), and Stop closes with nil.
func TestApplyConfigReusesClosesAndStops(t *testing.T) {
	d := &recorder{}
	e := New(slog.New(slog.DiscardHandler), d)
	e.ApplyConfig(cfgWith("a"))
	first := e.components[0]
	e.ApplyConfig(cfgWith("a"))
	if e.components[0] != first {
		t.Fatal("an unchanged component was replaced")
	}
	e.ApplyConfig(cfgWith("b"))
	waitClosed(t, d, 1)
	e.ApplyConfig(cfgWith(""))
	waitClosed(t, d, 2)
	if e.components[0] != nil {
		t.Fatal("a domain with nothing configured still has a component")
	}
	e.ApplyConfig(cfgWith("c"))
	e.Stop()
	if got, want := strings.Join(d.closes(), " "), "a->b b->nil c->nil"; got != want {
		t.Errorf("closes %q, want %q", got, want)
	}
}

func waitClosed(t *testing.T, d *recorder, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(d.closes()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("closes %v, want %d", d.closes(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// The collector serves the components' snapshots and the reload state; the
// status page shows each row's summary apart from its health.
func TestCollectAndStatus(t *testing.T) {
	e := New(slog.New(slog.DiscardHandler), &recorder{})
	e.ApplyConfig(cfgWith("a"))
	t.Cleanup(e.Stop)
	e.ReloadFailed()
	reg := NewRegistry(e)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP certstatus_config_last_reload_successful Whether the last configuration load succeeded.
# TYPE certstatus_config_last_reload_successful gauge
certstatus_config_last_reload_successful 0
# HELP certstatus_test_up Whether the test component runs.
# TYPE certstatus_test_up gauge
certstatus_test_up{name="a"} 1
`), "certstatus_config_last_reload_successful", "certstatus_test_up"); err != nil {
		t.Error(err)
	}
	h, err := e.Handler(reg, func() error { return nil }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<td data-label="target">a</td>`, `<td data-label="measures">3 pending</td>`, "failed, previous configuration still running"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/status lacks %q", want)
		}
	}
}
