package crl

import (
	"log/slog"
	"math/big"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certstatus/certstatus_exporter/config"
)

func TestDomainBuild(t *testing.T) {
	d := NewDomain(slog.New(slog.DiscardHandler), nil)
	if c, err := d.Build(&config.Config{}, nil); err != nil || c != nil {
		t.Fatalf("no crl section: %v, %v", c, err)
	}
	f := newCanaryFixture(t)
	cfg := &config.Config{CRL: f.cfg}
	c1, err := d.Build(cfg, nil)
	if err != nil || c1 == nil {
		t.Fatalf("Build: %v, %v", c1, err)
	}
	same := &config.Config{CRL: f.cfg}
	if c2, _ := d.Build(same, c1); c2 != c1 {
		t.Error("an unchanged crl section did not keep the canary")
	}
	d.marks.SetMark("shard-0", "origin-1", Mark{Number: big.NewInt(9)})
	changed := &config.Config{CRL: f.cfg}
	changed.CRL.Origins = f.cfg.Origins[1:]
	c3, _ := d.Build(changed, c1)
	if c3 == c1 {
		t.Fatal("a changed crl section kept the old canary")
	}
	if m := c3.(*Canary).marks.Mark("shard-0", "origin-1"); m.Number == nil || m.Number.Int64() != 9 {
		t.Errorf("marks lost on reload: %+v", m)
	}
	// origin-1's counters are gone, origin-2's stay.
	if n := testutil.CollectAndCount(d.metrics.checks); n != len(Results())*2*2 {
		t.Errorf("%d check series after removing origin-1, want %d", n, len(Results())*2*2)
	}
}

// Shards of a URL shard list survive a reload that keeps the URL: their
// counters neither reset nor linger; with another URL they are forgotten.
func TestDomainKeepsURLShardsAcrossReload(t *testing.T) {
	d := NewDomain(slog.New(slog.DiscardHandler), nil)
	f := newCanaryFixture(t)
	cfg := f.cfg
	cfg.Shards = nil
	cfg.ShardList = &config.ShardList{URL: "http://ccadb.example.com/crls.json", IssuerCert: f.ca.Cert}
	c1, _ := d.Build(&config.Config{CRL: cfg}, nil)
	old := c1.(*Canary)
	old.mu.Lock()
	old.setListShards([]config.Shard{{Name: "7", URL: "http://crl.example.com/7.crl", IssuerCert: f.ca.Cert}})
	old.mu.Unlock()
	d.metrics.checks.WithLabelValues("7", "origin-1", "ok").Add(3)

	next := cfg
	next.Interval = config.Duration(2 * cfg.Interval.D())
	c2, _ := d.Build(&config.Config{CRL: next}, c1)
	if got := c2.(*Canary).shards(); len(got) != 1 || got[0].Name != "7" {
		t.Fatalf("shards after reload = %v", got)
	}
	if v := testutil.ToFloat64(d.metrics.checks.WithLabelValues("7", "origin-1", "ok")); v != 3 {
		t.Errorf("counter after reload = %v, want 3", v)
	}
	other := next
	other.ShardList = &config.ShardList{URL: "http://ccadb.example.com/other.json", IssuerCert: f.ca.Cert}
	c3, _ := d.Build(&config.Config{CRL: other}, c2)
	if got := c3.(*Canary).shards(); len(got) != 0 {
		t.Errorf("shards with another list URL = %v", got)
	}
	if n := testutil.CollectAndCount(d.metrics.checks); n != 0 {
		t.Errorf("%d check series linger", n)
	}
}
