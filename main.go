// Command certstatus_exporter watches the certificate-status path of a CA:
// replication of the OCSP database to each origin's replica, and canary OCSP
// requests for just-issued certificates at every origin.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/store"
)

const name = "certstatus_exporter"

// DefaultListenAddress is the exporter's port.
const DefaultListenAddress = ":9815"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(name, "Prometheus exporter for a CA's certificate status path: replication lag, WAL headroom and OCSP canaries.")
	app.Writer(stdout).ErrorWriter(stderr).UsageWriter(stdout)
	configFile := app.Flag("config.file", "Path to the configuration file.").Default("certstatus.yml").String()
	configCheck := app.Flag("config.check", "Validate the configuration file, print what is wrong, and exit.").Bool()
	storagePath := app.Flag("storage.path", "Directory for state that must survive a restart: tracked certificates and their clocks.").Default("data/").String()
	webFlags := kingpinflag.AddFlags(app, DefaultListenAddress)
	logConfig := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(app, logConfig)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}

	if *configCheck {
		if _, err := config.Load(*configFile); err != nil {
			fmt.Fprintf(stderr, "%s is not valid:\n%v\n", *configFile, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s is valid: OK\n", *configFile)
		return 0
	}

	logger := promslog.New(logConfig)
	logger.Info("starting "+name, "version", version.Info(), "build_context", version.BuildContext())
	cfg, err := config.Load(*configFile)
	if err != nil {
		logger.Error("cannot load configuration", "file", *configFile, "err", err)
		return 1
	}

	st := store.Open(*storagePath, logger.With("component", "store"))
	defer st.Close()
	exp := exporter.New(logger.With("component", "exporter"), domains.All(logger, st)...)
	exp.ApplyConfig(cfg)
	defer exp.Stop()

	var reloadMu sync.Mutex
	reload := func() error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		cfg, err := config.Load(*configFile)
		if err != nil {
			exp.ReloadFailed()
			logger.Error("configuration refused, keeping the running one", "file", *configFile, "err", err)
			return err
		}
		exp.ApplyConfig(cfg)
		return nil
	}

	handler, err := exp.Handler(exporter.NewRegistry(exp, st), reload, logger)
	if err != nil {
		logger.Error("cannot build the HTTP handler", "err", err)
		return 1
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-hup:
				logger.Info("SIGHUP: reloading configuration")
				_ = reload()
			case <-ctx.Done():
				return
			}
		}
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(srv, webFlags, logger) }()
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "err", err)
			return 1
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return 0
}
