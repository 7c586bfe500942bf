package main

import (
	"net/http"
	"strings"
	"time"
)

// serve is the lab log's static-ct-api read path: a plain file server over
// TesseraCT's storage directory, as a CDN or bucket would be in production.
func serve(addr, dir string) error {
	files := http.FileServer(http.Dir(dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// TesseraCT keeps its sequencing and antispam state in dot directories;
		// they are not part of the read API.
		if strings.Contains(r.URL.Path, "/.") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	return srv.ListenAndServe()
}
