package exporter

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// Reloader loads the configuration file again and applies it.
type Reloader func() error

// Handler serves /metrics, /status, /-/healthy, /-/ready, POST /-/reload and
// the landing page.
func (e *Exporter) Handler(reg *prometheus.Registry, reload Reloader, logger *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.RLock()
		ready := e.cfg != nil
		e.mu.RUnlock()
		if !ready {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := reload(); err != nil {
			http.Error(w, "configuration refused, the previous one keeps running:\n"+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "Reloaded")
	})
	v := incidentView{state: e.viewState, logger: logger}
	mux.HandleFunc("/status", v.serveStatus)
	mux.HandleFunc("GET /api/v1/certificates", v.serveAPICertificates)
	mux.HandleFunc("GET /api/v1/replicas", v.serveAPIReplicas)
	mux.HandleFunc("GET /api/v1/revocations", v.serveAPIRevocations)
	handlePprof(mux)
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "certstatus_exporter",
		Description: "Is every certificate status answer authoritative and fresh? Replication lag, WAL headroom and OCSP canaries.",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: "metrics", Text: "Metrics"},
			{Address: "status", Text: "Incident view: overdue certificates, replicas, origins"},
			{Address: "api/v1/certificates?state=overdue", Text: "Overdue certificates (JSON)"},
			{Address: "api/v1/replicas", Text: "Replicas (JSON)"},
			{Address: "api/v1/revocations?state=overdue", Text: "Revocations not on the CRLs in time (JSON)"},
			{Address: "-/healthy", Text: "Health"},
			{Address: pprofPath, Text: "Profiles", Description: "the Go runtime's pprof profiles (heap, CPU, goroutines)"},
		},
		// The toolkit's own profiling links include a 60 s CPU profile; the
		// index above links every profile instead.
		Profiling: "false",
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
	return mux, nil
}
