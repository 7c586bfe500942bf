package main

import (
	"log/slog"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/store"
)

var (
	fqName    = regexp.MustCompile(`fqName: "([^"]+)"`)
	readmeRow = regexp.MustCompile("(?m)^\\| `(certstatus_[a-z_]+)` \\|")
)

// The README's metric reference lists exactly the metrics the code declares.
func TestReadmeMetricReference(t *testing.T) {
	code := []string{"certstatus_exporter_build_info"}
	ch := make(chan *prometheus.Desc, 200)
	exporter.New(nil, domains.All(slog.New(slog.DiscardHandler), nil)...).Describe(ch)
	(&store.Store{}).Describe(ch)
	close(ch)
	for d := range ch {
		code = append(code, fqName.FindStringSubmatch(d.String())[1])
	}
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var readme []string
	for _, m := range readmeRow.FindAllStringSubmatch(string(raw), -1) {
		readme = append(readme, m[1])
	}
	for _, n := range code {
		if !slices.Contains(readme, n) {
			t.Errorf("%s is exported but missing from the README's metric reference", n)
		}
	}
	for _, n := range readme {
		if !slices.Contains(code, n) {
			t.Errorf("%s is in the README's metric reference but the code does not export it", n)
		}
	}
}
