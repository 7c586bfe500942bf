// Command gen writes the Grafana dashboards in dashboards/ (go run
// ./dashboards/gen). The JSON is committed; a test checks it is current.
// Dashboards are built with the Grafana Foundation SDK so that a typo in a
// field name is a compile error, not a silently ignored JSON key.
package main

//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	dir := "dashboards"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	ds, err := Dashboards()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := make([]string, 0, len(ds))
	for name := range ds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := Marshal(ds[name])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// Marshal is the committed form of a dashboard: indented JSON and a newline.
func Marshal(d dashboard.Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Dashboards returns every dashboard by file name.
func Dashboards() (map[string]dashboard.Dashboard, error) {
	out := map[string]dashboard.Dashboard{}
	for name, b := range map[string]*dashboard.DashboardBuilder{
		"certstatus-fleet.json":   fleet(),
		"certstatus-replica.json": replica(),
		"certstatus-origin.json":  origin(),
		"certstatus-crl.json":     crl(),
	} {
		d, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = d
	}
	return out, nil
}
