package config

import (
	"strings"
	"testing"
	"time"
)

const webBase = "replicas:\n  - name: r\n    dsn: \"postgres://m@127.0.0.1:5432/db\"\n"

func TestWebDefaultsAndLink(t *testing.T) {
	cfg, err := parse("web.yml", []byte(webBase+"web:\n  certificate_link: \"https://crt.sh/?serial={{.Serial}}\"\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Web.Refresh.D() != 30*time.Second || cfg.Web.PageSize != DefaultWebPageSize {
		t.Errorf("web defaults not applied: %+v", cfg.Web)
	}
	tmpl, err := ParseCertificateLink(cfg.Web.CertificateLink)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, NewCertificateLinkData("abc", "CN=x", "certificate")); err != nil {
		t.Fatal(err)
	}
	if b.String() != "https://crt.sh/?serial=abc" {
		t.Errorf("link = %q", b.String())
	}
	if d := NewCertificateLinkData("abc", "", ""); d.SerialDecimal != "2748" {
		t.Errorf("SerialDecimal = %q, want 2748", d.SerialDecimal)
	}
}

func TestWebBad(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"  certificate_link: \"javascript:alert({{.Serial}})\"\n", `web.yml:5: web.certificate_link: renders "javascript:alert(1234abcd)" for a sample certificate, want an http or https URL`},
		{"  certificate_link: \"https://crt.sh/?serial={{.Serail}}\"\n", `web.yml:5: web.certificate_link: template: certificate_link:1:25: executing "certificate_link" at <.Serail>: can't evaluate field Serail`},
		{"  certificate_link: \"https://crt.sh/?q={{.Serial\"\n", `web.yml:5: web.certificate_link: template: certificate_link:1: unclosed action`},
		{"  page_size: 5000\n", `web.yml:5: web.page_size: page_size 5000 must be between 1 and 1000`},
		{"  refresh: 100ms\n", `web.yml:5: web.refresh: refresh 100ms must be at least 1s`},
	}
	for _, tc := range cases {
		_, err := parse("web.yml", []byte(webBase+"web:\n"+tc.yaml), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.yaml, err, tc.want)
		}
	}
}

func noEnv(string) (string, bool) { return "", false }
