package exporter

import (
	"net/http"
	"net/http/pprof"
)

// pprofPath is where the Go runtime's profiles are served, behind the same
// web config (TLS, basic auth) as everything else, as Prometheus does.
const pprofPath = "/debug/pprof/"

// handlePprof serves net/http/pprof on mux; the package's own registration
// on http.DefaultServeMux is never served.
func handlePprof(mux *http.ServeMux) {
	mux.HandleFunc(pprofPath, pprof.Index) // also /debug/pprof/heap, allocs, goroutine...
	mux.HandleFunc(pprofPath+"cmdline", pprof.Cmdline)
	mux.HandleFunc(pprofPath+"profile", pprof.Profile)
	mux.HandleFunc(pprofPath+"symbol", pprof.Symbol)
	mux.HandleFunc(pprofPath+"trace", pprof.Trace)
}
