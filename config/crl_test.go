package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadCRL(t *testing.T) {
	cfg, err := Load("testdata/crl/good.yml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c := cfg.CRL
	if !c.Configured() {
		t.Fatal("crl section not seen")
	}
	if c.RevocationDeadline.D() != 24*time.Hour || c.Timeout.D() != 30*time.Second || c.MaxSize != DefaultCRLMaxSize {
		t.Errorf("defaults not applied: deadline=%s timeout=%s max_size=%d", c.RevocationDeadline.D(), c.Timeout.D(), c.MaxSize)
	}
	var names []string
	for _, s := range c.Shards {
		names = append(names, s.Name)
		if s.IssuerCert == nil || s.IssuerCert.Subject.CommonName != "testdata CA" {
			t.Errorf("shard %s issuer not read: %v", s.Name, s.IssuerCert)
		}
	}
	if got := strings.Join(names, ","); got != "shard-0,1,2" {
		t.Errorf("shards = %s, want shard-0 plus the list's 1 and 2", got)
	}
	if c.Shards[2].URL != "http://crl.example.com/shards/2.crl" {
		t.Errorf("shard 2 url = %q", c.Shards[2].URL)
	}
	if o := c.Origins[0]; o.Host != "crl.example.com" || o.CDN || o.Timeout.D() != 30*time.Second {
		t.Errorf("origin-1 = %+v", o)
	}
	if o := c.Origins[1]; !o.CDN || o.Timeout.D() != 10*time.Second {
		t.Errorf("cdn = %+v", o)
	}
	if r := c.Revocations; r == nil || r.PasswordFile != filepath.Join("testdata", "password.txt") || !strings.HasPrefix(r.Query, "SELECT serial") {
		t.Errorf("revocations = %+v", r)
	}
}

// A config with only a crl section is something to monitor.
func TestCRLOnlyIsEnough(t *testing.T) {
	cfg, err := Load("testdata/crl/good.yml")
	if err != nil || cfg.Primary != nil || len(cfg.OCSP.Origins) != 0 {
		t.Fatalf("crl-only config: %v", err)
	}
}

func TestLoadCRLBad(t *testing.T) {
	cases := []struct{ file, want string }{
		{"bad_no_origin", `bad_no_origin.yml:1: crl.origins: at least one origin is needed to fetch the CRLs`},
		{"bad_shard_url", `bad_shard_url.yml:4: crl.shards[1].url: url "ldap://crl.example.com/1.crl" must be http or https`},
		{"bad_duplicate_url", `bad_duplicate_url.yml:4: crl.shards[1].url: duplicate url "http://crl.example.com/0.crl" (also used by crl.shards[0])`},
		{"bad_issuer_leaf", `bad_issuer_leaf.yml:3: crl.shards[0].issuer: `},
		{"bad_unknown_key", `bad_unknown_key.yml:5: crl.origins[0].cdn_lag: unknown key "cdn_lag"`},
		{"bad_deadline", `bad_deadline.yml:2: crl.revocation_deadline: invalid duration "1 day"`},
		{"bad_revocations", `bad_revocations.yml:6: crl.revocations.query: query is required (serial, revoked_at, reason)`},
		{"bad_shard_list", `bad_shard_list.yml:2: crl.shard_list.file: `},
		{"bad_list_both", `bad_list_both.yml:2: crl.shard_list: exactly one of file and url is required`},
		{"bad_list_entry", `bad_list_entry.yml:2: crl.shard_list.file: testdata/crl/bad_entry.json: "ldap://crl.example.com/1.crl" is not an http(s) URL`},
		{"bad_origin_path", `bad_origin_path.yml:5: crl.origins[0].url: url "http://127.0.0.1:8080/crl" must end in /`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "crl", tc.file+".yml"))
			if err == nil {
				t.Fatal("bad file accepted")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "testdata/crl/"+tc.want) {
				t.Errorf("error\n  got: %s\n want prefix: testdata/crl/%s", msg, tc.want)
			} else if strings.Contains(msg, "pw-in-dsn") {
				t.Errorf("error leaks a password: %s", msg)
			}
		})
	}
}

// A URL shard list is fetched by the canary; the config checks its URL and
// reads its issuer.
func TestLoadCRLShardListURL(t *testing.T) {
	cfg, err := Load("testdata/crl/good_url.yml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	l := cfg.CRL.ShardList
	if len(cfg.CRL.Shards) != 0 || l.URL != "http://ccadb.example.com/crls.json" || l.IssuerCert == nil {
		t.Errorf("shard_list = %+v, shards %v", l, cfg.CRL.Shards)
	}
}

// design.md's crl block loads as written.
func TestLoadCRLDesignContract(t *testing.T) {
	cfg, err := Load("testdata/crl/design.yml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c := cfg.CRL
	if c.Interval.D() != time.Minute || len(c.Shards) != 1 || len(c.Origins) != 2 || !c.Origins[1].CDN || c.Revocations == nil {
		t.Errorf("crl = %+v", c)
	}
}
