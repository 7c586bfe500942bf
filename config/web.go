package config

import (
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// Web tunes the incident view (/status and /api/v1).
type Web struct {
	// CertificateLink is a text/template for a link from each certificate to
	// an outside view of it, e.g. "https://crt.sh/?serial={{.Serial}}".
	// Fields: Serial (hex), SerialDecimal, Issuer, Kind. Empty: no link.
	CertificateLink string `yaml:"certificate_link"`
	// Refresh is how often /status reloads itself in the browser.
	Refresh Duration `yaml:"refresh"`
	// PageSize is how many certificates /status lists per page.
	PageSize int `yaml:"page_size"`
}

// Web defaults and limits.
const (
	DefaultWebRefresh  = 30 * time.Second
	DefaultWebPageSize = 50
	MaxWebPageSize     = 1000
)

// CertificateLinkData is what a certificate link template sees.
type CertificateLinkData struct {
	Serial, SerialDecimal, Issuer, Kind string
}

// NewCertificateLinkData fills the template fields for a certificate whose
// serial is in hex.
func NewCertificateLinkData(serialHex, issuer, kind string) CertificateLinkData {
	d := CertificateLinkData{Serial: serialHex, Issuer: issuer, Kind: kind}
	if n, ok := new(big.Int).SetString(serialHex, 16); ok {
		d.SerialDecimal = n.String()
	}
	return d
}

// ParseCertificateLink compiles web.certificate_link; nil when empty. A
// template that does not render an http(s) URL for a sample is refused.
func ParseCertificateLink(s string) (*template.Template, error) {
	if s == "" {
		return nil, nil
	}
	t, err := template.New("certificate_link").Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	sample := NewCertificateLinkData("1234abcd", "CN=Example Issuing CA", "certificate")
	if err := t.Execute(&b, sample); err != nil {
		return nil, err
	}
	u, err := url.Parse(b.String())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("renders %q for a sample certificate, want an http or https URL", b.String())
	}
	return t, nil
}

func (w *Web) applyDefaults() {
	setDefault(&w.Refresh, DefaultWebRefresh)
	if w.PageSize == 0 {
		w.PageSize = DefaultWebPageSize
	}
}

func (v *validator) web(w Web) {
	if _, err := ParseCertificateLink(w.CertificateLink); err != nil {
		v.add("web.certificate_link", "%v", err)
	}
	if w.Refresh < Duration(time.Second) {
		v.add("web.refresh", "refresh %s must be at least 1s", w.Refresh.D())
	}
	if w.PageSize < 1 || w.PageSize > MaxWebPageSize {
		v.add("web.page_size", "page_size %d must be between 1 and %d", w.PageSize, MaxWebPageSize)
	}
}
