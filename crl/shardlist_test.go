package crl

import (
	"fmt"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
)

// A shard list fetched by URL adds and drops shards as it changes; a broken
// list keeps the previous one.
func TestCanaryShardListURL(t *testing.T) {
	f := newCanaryFixture(t)
	f.publish(t, 1, testNow.Add(-time.Hour), nil, f.o1, f.o2, f.cdn)
	list := newCRLServer(t)
	setList := func(body string) { list.set("/crls.json", []byte(body)) }
	setList(`["http://crl.example.com/0.crl"]`)
	cfg := f.cfg
	cfg.Shards = nil
	cfg.ShardList = &config.ShardList{URL: list.url + "crls.json", IssuerCert: f.ca.Cert}
	f.canary = NewCanary(cfg, Options{Now: func() time.Time { return f.now }})
	f.reg = newRegistry(f.canary)
	list.mu.Lock()
	list.anyHost = true // the list is fetched at its own URL, without a Host override
	list.mu.Unlock()

	f.pass(t)
	if v := f.value(t, "certstatus_crl_shards"); v != 1 {
		t.Fatalf("shards = %v", v)
	}
	// One shard: no IDP needed, though the fixture's CRLs carry one.
	if v := f.value(t, "certstatus_crl_up", "shard", "0", "origin", "origin-1"); v != 1 {
		t.Errorf("crl_up{0} = %v", v)
	}

	setList(`["http://crl.example.com/0.crl", "http://crl.example.com/1.crl"]`)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_up", "shard", "1", "origin", "cdn"); v != 1 {
		t.Errorf("crl_up{1} = %v", v)
	}
	setList(`{"broken": true}`)
	f.pass(t)
	if v := f.value(t, "certstatus_crl_shards"); v != 2 {
		t.Errorf("shards after a broken list = %v", v)
	}
	if v := f.value(t, "certstatus_probe_failures_total", "probe", "crl_shard_list", "reason", "invalid"); v != 1 {
		t.Errorf("list failures = %v", v)
	}
	setList(`["http://crl.example.com/1.crl"]`)
	f.pass(t)
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := metrictest.Sample(mfs, "certstatus_crl_checks_total", "shard", "0"); ok {
		t.Error("shard 0's counters outlived its removal from the list")
	}
	if v := f.value(t, "certstatus_crl_shards"); v != 1 {
		t.Errorf("shards = %v", v)
	}
	var rows []string
	for _, r := range f.canary.Status() {
		rows = append(rows, fmt.Sprintf("%s %s", r.Probe, r.Target))
	}
	if fmt.Sprint(rows) != "[crl_shard_list shard_list crl 1@origin-1 crl 1@origin-2 crl 1@cdn]" {
		t.Errorf("status rows %v", rows)
	}
}
