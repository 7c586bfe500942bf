package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	t.Setenv("CERTDB_PASSWORD", "env-secret")
	cfg, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(cfg.Replicas); got != 2 {
		t.Fatalf("replicas = %d, want 2", got)
	}
	if cfg.Replication.Timeout.D() != 3*time.Second || cfg.Replication.RateWindow.D() != 5*time.Minute {
		t.Errorf("replication defaults not applied: %+v", cfg.Replication)
	}
	if cfg.OCSP.MaxTracked != DefaultMaxTracked || cfg.OCSP.TrackFor.D() != 24*time.Hour || cfg.OCSP.RecheckRate != DefaultRecheckRate {
		t.Errorf("ocsp defaults not applied: max_tracked=%d track_for=%s", cfg.OCSP.MaxTracked, cfg.OCSP.TrackFor.D())
	}
	if o := cfg.OCSP.Origins[1]; o.Method != "POST" || !o.CDN || o.Timeout.D() != 5*time.Second || o.Concurrency != DefaultConcurrency {
		t.Errorf("origin cdn = %+v", o)
	}
	if src := cfg.OCSP.Sources[0]; src.Type != SourceSQL || src.Lookback.D() != DefaultLookback {
		t.Errorf("sql source lookback %s, want the default %s", src.Lookback.D(), DefaultLookback)
	}
	if !strings.Contains(cfg.OCSP.Sources[0].DSN, ":env-secret@") {
		t.Errorf("${CERTDB_PASSWORD} not expanded: %q", Scrub(cfg.OCSP.Sources[0].DSN))
	}
	if cfg.Primary.PasswordFile != filepath.Join("testdata", "password.txt") {
		t.Errorf("password_file not resolved against the config's folder: %q", cfg.Primary.PasswordFile)
	}
	if len(cfg.OCSP.IssuerCerts) != 1 || cfg.OCSP.IssuerCerts[0].Subject.CommonName != "testdata CA" {
		t.Errorf("issuer certs = %v", cfg.OCSP.IssuerCerts)
	}
}

// Each bad file is refused with a message that names its line and key.
func TestLoadBad(t *testing.T) {
	cases := []struct {
		file string
		want string
	}{
		{"unknown_key", `bad/unknown_key.yml:3: replicas[0].dns: unknown key "dns"`},
		{"missing_name", `bad/missing_name.yml:4: replicas[1].name: name is required (it becomes a label)`},
		{"duplicate_name", `bad/duplicate_name.yml:4: replicas[1].name: duplicate name "replica-1" (also used by replicas[0])`},
		{"duplicate_key", `bad/duplicate_key.yml:3: replicas[0].name: mapping key "name" already defined at line 2`},
		{"bad_duration", `bad/bad_duration.yml:5: replication.interval: invalid duration "5 seconds" (want e.g. 5s, 15m, 1h30m)`},
		{"bad_dsn", `bad/bad_dsn.yml:3: replicas[0].dsn: cannot parse DSN: `},
		{"issuer_unreadable", `bad/issuer_unreadable.yml:2: ocsp.issuers[0]: cannot read issuer file: open `},
		{"issuer_not_ca", `bad/issuer_not_ca.yml:3: ocsp.issuers[0]: `},
		{"origin_not_http", `bad/origin_not_http.yml:7: ocsp.origins[0].url: url "ftp://127.0.0.1/" must be http or https`},
		{"env_missing", `bad/env_missing.yml:3: environment variable CERTSTATUS_TEST_UNSET is not set`},
		{"password_twice", `bad/password_twice.yml:4: replicas[0].password_file: password_file is set but the dsn holds a password too; keep only one`},
		{"source_type", `bad/source_type.yml:5: ocsp.sources[0].type: unknown source type "ftp" (want sql, dir or ct)`},
		{"ct_source", `bad/ct_source.yml:4: ocsp.sources[0].origin: origin is required for a static log (its checkpoints' first line)`},
		{"upstream_unknown", `bad/upstream_unknown.yml:4: replicas[0].upstream: upstream "replica-9" is not another configured replica`},
		{"upstream_slot", `bad/upstream_slot.yml:5: replicas[0].slot: slot is not supported with upstream (a cascading replica's slot is on its upstream replica)`},
		{"upstream_loop", `bad/upstream_loop.yml:4: replicas[0].upstream: upstream "replica-2" leads back to "replica-1": a loop`},
		{"recheck_rate", `bad/recheck_rate.yml:3: ocsp.recheck_rate: recheck_rate must be positive (rechecks per second per origin)`},
		{"empty", `bad/empty.yml: nothing to monitor: configure replicas, ocsp.origins and/or crl`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tc.file+".yml")
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) accepted a bad file", path)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "testdata/"+tc.want) {
				t.Errorf("error\n  got: %s\n want prefix: testdata/%s", msg, tc.want)
			}
			for _, secret := range []string{"hunter2-secret", "pw-in-dsn", "s3cret-from-file"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error leaks a password: %s", msg)
				}
			}
		})
	}
}

func TestIssuerNotCAMessage(t *testing.T) {
	_, err := Load("testdata/bad/issuer_not_ca.yml")
	if err == nil || !strings.Contains(err.Error(), `"CN=leaf.example" is not a CA certificate`) {
		t.Fatalf("got %v", err)
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yml"))
	if err == nil || !strings.Contains(err.Error(), "cannot read config file") {
		t.Fatalf("got %v", err)
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p%40ss@h:5432/db":           "postgres://u:xxxxx@h:5432/db",
		"host=h password=secret user=u":           "host=h password=xxxxx user=u",
		"host=h password='two words' user=u":      "host=h password=xxxxx user=u",
		"postgres://u@h/db":                       "postgres://u@h/db",
		"cannot parse `postgres://a:b@h:x/db`: e": "cannot parse `postgres://a:xxxxx@h:x/db`: e",
	} {
		if got := Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	if err := os.WriteFile(p, []byte("secret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := ReadPasswordFile(p); err != nil || pw != "secret" {
		t.Fatalf("ReadPasswordFile = %q, %v", pw, err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPasswordFile(p); err == nil {
		t.Fatal("empty password file accepted")
	}
}

func TestLoadCTSources(t *testing.T) {
	cfg, err := Load("testdata/ct.yml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	a, b := cfg.OCSP.Sources[0], cfg.OCSP.Sources[1]
	if a.API != CTAPIStatic || a.StartIndex != -1 || a.LogKey == nil || a.PublicKey != filepath.Join("testdata", "ct-log.pub") {
		t.Errorf("static source = %+v", a)
	}
	if b.API != CTAPIRFC6962 || b.StartIndex != 1234 || b.LogKey == nil {
		t.Errorf("rfc6962 source = %+v", b)
	}
}
