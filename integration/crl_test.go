package integration

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/crl"
	"github.com/certstatus/certstatus_exporter/exporter"
	"github.com/certstatus/certstatus_exporter/internal/domains"
	"github.com/certstatus/certstatus_exporter/internal/metrictest"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// crlDeadline is the test's revocation_deadline: short, so that a paused
// replica makes a revocation overdue within the test.
const crlDeadline = 20 * time.Second

func crlConfig(t *testing.T, lab *labtest.Lab, env map[string]string) *config.Config {
	return crlConfigWith(t, lab, env, "")
}

// crlOCSP adds the lab's OCSP origins, at which revocations are cross-checked.
func crlOCSP(lab *labtest.Lab) string {
	e := lab.Env
	return fmt.Sprintf(`ocsp:
  interval: 1s
  issuers: [%s]
  sources: [{name: spool, type: dir, path: %s}]
  origins:
    - {name: ocsp-1, url: %q, method: post}
    - {name: ocsp-2, url: %q, method: post}
`, e["LAB_ISSUER"], e["LAB_SPOOL"], e["LAB_ORIGIN1_URL"], e["LAB_ORIGIN2_URL"])
}

func crlConfigWith(t *testing.T, lab *labtest.Lab, env map[string]string, extra string) *config.Config {
	t.Helper()
	e := lab.Env
	yml := extra + fmt.Sprintf(`crl:
  interval: 1s
  timeout: 1s
  revocation_deadline: %s
  shards:
    - {name: shard-0, url: "%[2]s0.crl", issuer: %[3]s}
    - {name: shard-1, url: "%[2]s1.crl", issuer: %[3]s}
  origins:
    - {name: origin-1, url: %[4]q, host: %[7]s}
    - {name: origin-2, url: %[5]q, host: %[7]s}
    - {name: cdn, url: %[6]q, host: %[7]s, cdn: true}
  revocations:
    dsn: %[8]q
    password_file: %[9]s
    query: "SELECT convert_from(serial_number, 'UTF8'), revoked_at, reason, expiry FROM certificates WHERE status = 'revoked'::bytea"
`, crlDeadline, env["LAB_CRL_SHARD_URL"], e["LAB_ISSUER"], env["LAB_CRL_ORIGIN1_URL"], env["LAB_CRL_ORIGIN2_URL"],
		env["LAB_CRL_CDN_URL"], env["LAB_CRL_HOST"], e["LAB_PRIMARY_DSN"], e["LAB_PASSWORD_FILE"])
	path := filepath.Join(t.TempDir(), "certstatus.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("crl config: %v", err)
	}
	return cfg
}

// crlRevocations reads certstatus_crl_revocations{origin,state}.
func crlRevocations(t *testing.T, reg prometheus.Gatherer, origin, state string) float64 {
	t.Helper()
	return must(t, reg, "certstatus_crl_revocations", "origin", origin, "state", state)
}

func wantCRLStates(reg prometheus.Gatherer, t *testing.T, origin string, want map[string]float64) error {
	for state, n := range want {
		if v, ok := value(t, reg, "certstatus_crl_revocations", "origin", origin, "state", state); !ok || v != n {
			return fmt.Errorf("%s %s = %v, want %v", origin, state, v, n)
		}
	}
	return nil
}

func hexSerial(t *testing.T, decimal string) string {
	n, ok := new(big.Int).SetString(decimal, 10)
	if !ok {
		t.Fatalf("serial %q", decimal)
	}
	return fmt.Sprintf("%x", n)
}

// The CRL canary against the lab: cfssl's certdb, CRLs rendered per replica,
// an HTTP server per origin and nginx as the CDN.
func TestCRLRevocationsListedAndOverdue(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(crlConfigWith(t, lab, env, crlOCSP(lab)))
	t.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp)
	handler, err := exp.Handler(reg, func() error { return nil }, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}

	eventually(t, 30*time.Second, "every shard up at every origin", func() error {
		for _, o := range []string{"origin-1", "origin-2", "cdn"} {
			for _, s := range []string{"shard-0", "shard-1"} {
				if v, ok := value(t, reg, "certstatus_crl_up", "shard", s, "origin", o); !ok || v != 1 {
					return fmt.Errorf("crl_up{%s,%s} = %v", s, o, v)
				}
			}
		}
		return nil
	})
	listed := crlRevocations(t, reg, "origin-1", "listed")
	ocspState := func(origin, state string) float64 {
		v, _ := value(t, reg, "certstatus_crl_ocsp_revocations", "origin", origin, "state", state)
		return v
	}

	// A revocation is listed at every origin, and through the CDN, within
	// the deadline.
	first := lab.Revoke(t, lab.Issue(t), 1)
	lab.CRL(t, "ocsp-refresh")
	listed++
	eventually(t, crlDeadline, "the revocation listed at every origin", func() error {
		for _, o := range []string{"origin-1", "origin-2", "cdn"} {
			if err := wantCRLStates(reg, t, o, map[string]float64{"listed": listed, "pending": 0, "overdue": 0, "mismatched": 0}); err != nil {
				return err
			}
		}
		return nil
	})
	eventually(t, crlDeadline, "the revocation answered revoked at both OCSP origins", func() error {
		for _, o := range []string{"ocsp-1", "ocsp-2"} {
			if r, p := ocspState(o, "revoked"), ocspState(o, "pending"); r != listed || p != 0 {
				return fmt.Errorf("%s: %v revoked, %v pending", o, r, p)
			}
		}
		return nil
	})
	t.Logf("serial %s listed at origin-1, origin-2 and the CDN, and revoked at both OCSP origins", hexSerial(t, first))

	// Replica-1 stops replaying: origin-1 renders CRLs from a stale view.
	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_pause()")
	resumed := false
	defer func() {
		if !resumed {
			lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")
		}
	}()
	issued := lab.Issue(t)
	// Before the revocation's own revoked_at: the lab's steps after it take
	// seconds on a loaded machine, and the deadline runs from revoked_at.
	revokedAt := time.Now()
	second := lab.Revoke(t, issued, 4)
	lab.CRL(t, "ocsp-refresh")
	listed++
	eventually(t, crlDeadline, "origin-2 lists the second revocation", func() error {
		return wantCRLStates(reg, t, "origin-2", map[string]float64{"listed": listed, "overdue": 0})
	})
	if err := wantCRLStates(reg, t, "origin-1", map[string]float64{"pending": 1, "overdue": 0}); err != nil {
		t.Errorf("origin-1 before the deadline: %v", err)
	}
	eventually(t, crlDeadline+15*time.Second, "origin-1's revocation overdue", func() error {
		return wantCRLStates(reg, t, "origin-1", map[string]float64{"overdue": 1, "listed": listed - 1})
	})
	if waited := time.Since(revokedAt); waited < crlDeadline {
		t.Errorf("overdue after %s, before the %s deadline", waited, crlDeadline)
	}
	if err := wantCRLStates(reg, t, "origin-2", map[string]float64{"listed": listed, "overdue": 0}); err != nil {
		t.Errorf("origin-2 while replica-1 is paused: %v", err)
	}
	eventually(t, 10*time.Second, "OCSP: overdue at ocsp-1, revoked at ocsp-2", func() error {
		if o1, o2 := ocspState("ocsp-1", "overdue"), ocspState("ocsp-2", "revoked"); o1 != 1 || o2 != listed {
			return fmt.Errorf("ocsp-1 overdue %v, ocsp-2 revoked %v", o1, o2)
		}
		return nil
	})
	page := getPage(t, handler, "/status")
	if want := "overdue " + hexSerial(t, second); !strings.Contains(page, want) {
		t.Errorf("status page does not name %q:\n%s", want, page)
	}
	api := getPage(t, handler, "/api/v1/revocations?state=overdue")
	if want := `"serial": "` + hexSerial(t, second) + `",
      "origin": "origin-1"`; !strings.Contains(api, want) {
		t.Errorf("API does not list %s at origin-1:\n%s", hexSerial(t, second), api)
	}

	lab.SQL(t, "replica-1", "SELECT pg_wal_replay_resume()")
	resumed = true
	eventually(t, crlDeadline, "origin-1 lists it after replay resumes", func() error {
		if r := ocspState("ocsp-1", "revoked"); r != listed {
			return fmt.Errorf("ocsp-1 revoked %v", r)
		}
		return wantCRLStates(reg, t, "origin-1", map[string]float64{"listed": listed, "overdue": 0, "pending": 0})
	})
	metrictest.PromtoolCheckMetrics(t, metrictest.Text(t, reg))
}

// The CDN keeps serving what it cached while the origins move on: the
// disagreement and the lag are reported, and clear once it refetches.
func TestCRLStaleCDN(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(crlConfig(t, lab, env))
	t.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp)
	disagree := func(field string) (float64, bool) {
		return value(t, reg, "certstatus_crl_cdn_disagreement", "shard", "shard-0", "origin", "cdn", "field", field)
	}
	eventually(t, 30*time.Second, "the CDN agreeing with the origins", func() error {
		if v, ok := disagree("hash"); !ok || v != 0 {
			return fmt.Errorf("hash disagreement %v", v)
		}
		return nil
	})

	lab.CRL(t, "cdn-stale", "on")
	defer lab.CRL(t, "cdn-stale", "off")
	// The origins render a new thisUpdate every 10 s window.
	eventually(t, 40*time.Second, "the stale CDN reported", func() error {
		for _, f := range []string{"number", "this_update", "hash"} {
			if v, ok := disagree(f); !ok || v != 1 {
				return fmt.Errorf("%s disagreement %v", f, v)
			}
		}
		if lag := must(t, reg, "certstatus_crl_cdn_lag_seconds", "shard", "shard-0", "origin", "cdn"); lag < 10 {
			return fmt.Errorf("cdn lag %vs", lag)
		}
		return nil
	})

	lab.CRL(t, "cdn-stale", "off")
	eventually(t, 30*time.Second, "the CDN agreeing again", func() error {
		if v, ok := disagree("hash"); !ok || v != 0 {
			return fmt.Errorf("hash disagreement %v", v)
		}
		return nil
	})
}

// cfssl's own CRL carries no CRLNumber: the check says so.
func TestCRLCfsslHasNoNumber(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	lab.CRL(t, "cfssl-crl")
	cfg := crlConfig(t, lab, env).CRL
	cfg.Shards = []config.Shard{{Name: "cfssl", URL: "http://" + env["LAB_CRL_HOST"] + "/cfssl.crl", IssuerCert: cfg.Shards[0].IssuerCert}}
	cfg.Origins, cfg.Revocations = cfg.Origins[:1], nil
	c := crl.NewCanary(cfg, crl.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Pass(ctx)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(crlCollector{c})
	if v := must(t, reg, "certstatus_crl_checks_total", "shard", "cfssl", "origin", "origin-1", "result", "no_number"); v != 1 {
		t.Errorf("no_number checks = %v", v)
	}
	if _, ok := value(t, reg, "certstatus_crl_number", "shard", "cfssl", "origin", "origin-1"); ok {
		t.Error("crl_number exported for a CRL without one")
	}
}

type crlCollector struct{ c *crl.Canary }

func (cc crlCollector) Describe(ch chan<- *prometheus.Desc) { crl.NewMetrics().Describe(ch) }
func (cc crlCollector) Collect(ch chan<- prometheus.Metric) { cc.c.Collect(ch) }

func getPage(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b)
}

// The revocations source reads every documented serial form, reason form and
// timestamp type from a real PostgreSQL, as the monitor role.
func TestCRLRevocationSourceForms(t *testing.T) {
	lab := labtest.Up(t)
	e := lab.Env
	read := func(query string) ([]crl.Revocation, error) {
		src := crl.NewSQLRevocations(config.Revocations{
			Database: config.Database{DSN: e["LAB_PRIMARY_DSN"], PasswordFile: e["LAB_PASSWORD_FILE"]}, Query: query}, 5*time.Second)
		defer src.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return src.Revocations(ctx)
	}
	revs, err := read(`SELECT * FROM (VALUES
		('2748'::text, now(), 1::int, now() + interval '1 day'),
		('0x0abc', now(), NULL, NULL),
		('0a:bc', now(), 4, NULL)) v
	UNION ALL SELECT 'abc', now(), 5, NULL`)
	if err != nil {
		t.Fatalf("text serials: %v", err)
	}
	if len(revs) != 4 {
		t.Fatalf("%d revocations", len(revs))
	}
	for i, r := range revs {
		if r.Serial.Int64() != 2748 {
			t.Errorf("row %d: serial %v", i, r.Serial)
		}
	}
	if revs[0].Reason != 1 || revs[1].Reason != 0 || revs[2].Reason != 4 || revs[0].Expiry.IsZero() || !revs[1].Expiry.IsZero() {
		t.Errorf("reasons/expiry: %+v", revs)
	}
	revs, err = read(`SELECT '\x0abc'::bytea, now()::timestamp, 'keyCompromise'
		UNION ALL SELECT '\x0abc'::bytea, now()::timestamp, 'superseded'`)
	if err != nil || len(revs) != 2 || revs[0].Serial.Int64() != 2748 || revs[0].Reason != 1 || revs[1].Reason != 4 {
		t.Fatalf("bytea serials: %+v, %v", revs, err)
	}
	revs, err = read(`SELECT 2748::numeric, now(), 9::smallint UNION ALL SELECT 2748::bigint, now(), 9`)
	if err != nil || len(revs) != 2 || revs[0].Serial.Int64() != 2748 || revs[1].Serial.Int64() != 2748 || revs[0].Reason != 9 {
		t.Fatalf("numeric serials: %+v, %v", revs, err)
	}
	if _, err := read(`SELECT 'abc', now()`); err == nil || !strings.Contains(err.Error(), "want serial, revoked_at, reason") {
		t.Errorf("two columns: %v", err)
	}
	if _, err := read(`SELECT 'xyz', now(), 1`); err == nil || !strings.Contains(err.Error(), "neither decimal nor hex") {
		t.Errorf("bad serial: %v", err)
	}
}

// The shards can come from a CCADB-style JSON list fetched by URL.
func TestCRLShardListURL(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	cfg := crlConfig(t, lab, env)
	cfg.CRL.ShardList = &config.ShardList{URL: env["LAB_CRL_SHARD_LIST_URL"], Issuer: lab.Env["LAB_ISSUER"], IssuerCert: cfg.CRL.Shards[0].IssuerCert}
	cfg.CRL.Shards, cfg.CRL.Revocations = nil, nil
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(cfg)
	t.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp)
	eventually(t, 30*time.Second, "both listed shards up at every origin", func() error {
		if n, ok := value(t, reg, "certstatus_crl_shards"); !ok || n != 2 {
			return fmt.Errorf("shards = %v", n)
		}
		for _, o := range []string{"origin-1", "origin-2", "cdn"} {
			for _, s := range []string{"0", "1"} {
				if v, ok := value(t, reg, "certstatus_crl_up", "shard", s, "origin", o); !ok || v != 1 {
					return fmt.Errorf("crl_up{%s,%s} = %v", s, o, v)
				}
			}
		}
		return nil
	})
}

// An origin's CRL server goes away: its checks fail as fetch_error and it is
// down, the other origin stays up; back when it returns.
func TestCRLOriginDown(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
	exp.ApplyConfig(crlConfig(t, lab, env))
	t.Cleanup(exp.Stop)
	reg := exporter.NewRegistry(exp)
	up := func(origin string) float64 {
		v, _ := value(t, reg, "certstatus_crl_up", "shard", "shard-0", "origin", origin)
		return v
	}
	eventually(t, 30*time.Second, "origin-1 up", func() error {
		if up("origin-1") != 1 {
			return fmt.Errorf("crl_up = %v", up("origin-1"))
		}
		return nil
	})
	lab.CRL(t, "stop", "serve-1")
	started := false
	defer func() {
		if !started {
			lab.CRL(t, "start", "serve-1")
		}
	}()
	eventually(t, 15*time.Second, "origin-1 down with fetch_error", func() error {
		failed, _ := value(t, reg, "certstatus_crl_checks_total", "shard", "shard-0", "origin", "origin-1", "result", "fetch_error")
		if up("origin-1") != 0 || failed == 0 || up("origin-2") != 1 {
			return fmt.Errorf("origin-1 up %v, fetch_error %v, origin-2 up %v", up("origin-1"), failed, up("origin-2"))
		}
		return nil
	})
	lab.CRL(t, "start", "serve-1")
	started = true
	eventually(t, 15*time.Second, "origin-1 back", func() error {
		if up("origin-1") != 1 {
			return fmt.Errorf("crl_up = %v", up("origin-1"))
		}
		return nil
	})
}

// BR 4.10.1: an entry may leave the CRL once its certificate expired, not
// before. The lab renders only unexpired revocations; when a revoked
// certificate's expiry passes, its entry leaves. A record that knows the
// expiry counts nothing; a record that does not (NULL expiry) counts an
// early removal.
func TestCRLEntryLeavesAtExpiry(t *testing.T) {
	lab := labtest.Up(t)
	env := lab.CRLUp(t)
	start := func(cfg *config.Config) prometheus.Gatherer {
		exp := exporter.New(promslog.NewNopLogger(), domains.All(promslog.NewNopLogger(), nil)...)
		exp.ApplyConfig(cfg)
		t.Cleanup(exp.Stop)
		return exporter.NewRegistry(exp)
	}
	knows := start(crlConfig(t, lab, env))
	blind := crlConfig(t, lab, env)
	blind.CRL.Revocations.Query = "SELECT convert_from(serial_number, 'UTF8'), revoked_at, reason, NULL::timestamptz FROM certificates WHERE status = 'revoked'::bytea"
	unaware := start(blind)
	entries := func(reg prometheus.Gatherer) float64 {
		return must(t, reg, "certstatus_crl_entries", "shard", "shard-0", "origin", "origin-2") +
			must(t, reg, "certstatus_crl_entries", "shard", "shard-1", "origin", "origin-2")
	}
	var base float64
	eventually(t, 30*time.Second, "a first pass", func() error {
		var ok bool
		if base, ok = value(t, knows, "certstatus_crl_revocations", "origin", "origin-2", "state", "listed"); !ok {
			return fmt.Errorf("no revocation states yet")
		}
		return nil
	})
	serial := lab.Revoke(t, lab.Issue(t), 1)
	var listed float64
	eventually(t, crlDeadline, "the revocation listed at origin-2", func() error {
		if err := wantCRLStates(knows, t, "origin-2", map[string]float64{"listed": base + 1, "pending": 0}); err != nil {
			return err
		}
		listed = entries(knows)
		return nil
	})
	lab.SQL(t, "primary", "UPDATE certificates SET expiry = now() - interval '1 minute' WHERE serial_number = '"+serial+"'::bytea")
	eventually(t, crlDeadline, "the entry gone from origin-2's CRL", func() error {
		if n := entries(knows); n != listed-1 {
			return fmt.Errorf("%v entries, want %v", n, listed-1)
		}
		return nil
	})
	eventually(t, 10*time.Second, "the record without expiry counts an early removal", func() error {
		if v, _ := value(t, unaware, "certstatus_crl_early_removals_total", "origin", "origin-2"); v < 1 {
			return fmt.Errorf("early removals %v", v)
		}
		return nil
	})
	if v := must(t, knows, "certstatus_crl_early_removals_total", "origin", "origin-2"); v != 0 {
		t.Errorf("early removals with the expiry known = %v", v)
	}
	if v := must(t, knows, "certstatus_crl_revocations", "origin", "origin-2", "state", "overdue"); v != 0 {
		t.Errorf("overdue with the expiry known = %v", v)
	}
}
