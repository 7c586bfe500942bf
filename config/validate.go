package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// validate returns every problem with its key; Load adds file and line.
func (c *Config) validate() Errors {
	var v validator
	if c.Primary == nil && len(c.Replicas) == 0 && len(c.OCSP.Origins) == 0 && !c.CRL.Configured() {
		v.add("", "nothing to monitor: configure replicas, ocsp.origins and/or crl")
	}
	if c.Primary != nil {
		v.database("primary", *c.Primary)
	}
	names := map[string]string{}
	for i, r := range c.Replicas {
		key := fmt.Sprintf("replicas[%d]", i)
		v.name(key, r.Name, names)
		v.database(key, r.Database)
	}
	v.upstreams(c.Replicas)
	v.replication(c.Replication)
	c.OCSP.IssuerCerts = v.ocsp(&c.OCSP)
	v.web(c.Web)
	v.crl(&c.CRL)
	return v.errs
}

type validator struct{ errs Errors }

// upstreams: each upstream names another replica, and following them from
// any replica ends at the primary (no loop).
func (v *validator) upstreams(replicas []Replica) {
	up := map[string]string{}
	for _, r := range replicas {
		up[r.Name] = r.Upstream
	}
	for i, r := range replicas {
		key := fmt.Sprintf("replicas[%d].upstream", i)
		if r.Upstream == "" {
			continue
		}
		if r.Slot != "" {
			// The slot would live on the upstream replica, whose slots are
			// not read: its headroom could not be told.
			v.add(fmt.Sprintf("replicas[%d].slot", i), "slot is not supported with upstream (a cascading replica's slot is on its upstream replica)")
		}
		if _, ok := up[r.Upstream]; !ok || r.Upstream == r.Name {
			v.add(key, "upstream %q is not another configured replica", r.Upstream)
			continue
		}
		seen := map[string]bool{r.Name: true}
		for n := r.Upstream; n != ""; n = up[n] {
			if seen[n] {
				v.add(key, "upstream %q leads back to %q: a loop", r.Upstream, r.Name)
				break
			}
			seen[n] = true
		}
	}
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, Error{Key: key, Msg: Scrub(fmt.Sprintf(format, args...))})
}

// maxNameBytes bounds a target's name: a label value, and a length byte in
// the store's records.
const maxNameBytes = 200

func (v *validator) name(key, name string, seen map[string]string) {
	switch {
	case name == "":
		v.add(key+".name", "name is required (it becomes a label)")
	case strings.TrimSpace(name) != name:
		v.add(key+".name", "name %q has leading or trailing spaces", name)
	case len(name) > maxNameBytes:
		v.add(key+".name", "name is %d bytes; at most %d (it becomes a label and a key in the store)", len(name), maxNameBytes)
	case seen[name] != "":
		v.add(key+".name", "duplicate name %q (also used by %s)", name, seen[name])
	default:
		seen[name] = key
	}
}

var kvHasPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=`)

func (v *validator) database(key string, db Database) {
	if db.DSN == "" {
		v.add(key+".dsn", "dsn is required")
		return
	}
	if _, err := pgconn.ParseConfig(db.DSN); err != nil {
		v.add(key+".dsn", "cannot parse DSN: %v", err)
		return
	}
	if db.PasswordFile == "" {
		return
	}
	if dsnHasPassword(db.DSN) {
		v.add(key+".password_file", "password_file is set but the dsn holds a password too; keep only one")
	}
	if _, err := ReadPasswordFile(db.PasswordFile); err != nil {
		v.add(key+".password_file", "%v", err)
	}
}

func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, ok := u.User.Password()
		return ok
	}
	return kvHasPassword.MatchString(dsn)
}

// ReadPasswordFile returns a password file's first line.
func ReadPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read password file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("password file %s is empty", path)
	}
	return pw, nil
}

func (v *validator) replication(r Replication) {
	if r.Interval <= 0 {
		v.add("replication.interval", "interval must be positive")
	}
	if r.Timeout <= 0 || r.Timeout > r.Interval {
		v.add("replication.timeout", "timeout %s must be positive and at most the interval %s", r.Timeout.D(), r.Interval.D())
	}
	if r.RateWindow < 2*r.Interval {
		v.add("replication.rate_window", "rate_window %s must span at least two intervals", r.RateWindow.D())
	}
	if r.History < r.RateWindow {
		v.add("replication.history", "history %s must be at least rate_window %s", r.History.D(), r.RateWindow.D())
	}
}

func (v *validator) ocsp(o *OCSP) []*x509.Certificate {
	if len(o.Origins) == 0 && len(o.Sources) == 0 && len(o.Issuers) == 0 {
		return nil
	}
	if len(o.Origins) == 0 {
		v.add("ocsp.origins", "at least one origin is needed to check certificates")
	}
	if len(o.Sources) == 0 {
		v.add("ocsp.sources", "at least one certificate source is needed")
	}
	if len(o.Issuers) == 0 {
		v.add("ocsp.issuers", "at least one issuer PEM file is needed to verify answers")
	}
	if o.Interval <= 0 {
		v.add("ocsp.interval", "interval must be positive")
	}
	if o.SLA <= 0 {
		v.add("ocsp.sla", "sla must be positive")
	}
	if o.Timeout <= 0 || o.Timeout > o.Interval {
		v.add("ocsp.timeout", "timeout %s must be positive and at most the interval %s", o.Timeout.D(), o.Interval.D())
	}
	if o.RecheckRate < 0 {
		v.add("ocsp.recheck_rate", "recheck_rate must be positive (rechecks per second per origin)")
	}
	if o.MaxTracked < 1 {
		v.add("ocsp.max_tracked", "max_tracked must be at least 1")
	}
	v.compliance(o)
	var issuers []*x509.Certificate
	for i, path := range o.Issuers {
		certs, err := readIssuers(path)
		if err != nil {
			v.add(fmt.Sprintf("ocsp.issuers[%d]", i), "%v", err)
		}
		issuers = append(issuers, certs...)
	}
	names := map[string]string{}
	for i := range o.Sources {
		v.source(fmt.Sprintf("ocsp.sources[%d]", i), &o.Sources[i], names)
	}
	names = map[string]string{}
	for i := range o.Origins {
		v.origin(fmt.Sprintf("ocsp.origins[%d]", i), &o.Origins[i], o.Interval, names)
	}
	return issuers
}

func readIssuers(path string) ([]*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read issuer file: %w", err)
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d does not parse: %w", path, len(certs)+1, err)
		}
		if !cert.BasicConstraintsValid || !cert.IsCA {
			return nil, fmt.Errorf("%s: %q is not a CA certificate (basicConstraints CA is not true)", path, cert.Subject.String())
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

func (v *validator) source(key string, s *Source, names map[string]string) {
	v.name(key, s.Name, names)
	switch s.Type {
	case SourceSQL:
		v.database(key, s.Database)
		if strings.TrimSpace(s.Query) == "" {
			v.add(key+".query", "query is required for a sql source")
		}
		if s.Path != "" {
			v.add(key+".path", "path belongs to dir sources, not sql")
		}
		if s.Lookback < 0 {
			v.add(key+".lookback", "lookback must not be negative")
		}
	case SourceDir:
		if s.Path == "" {
			v.add(key+".path", "path is required for a dir source")
		} else if st, err := os.Stat(s.Path); err != nil || !st.IsDir() {
			v.add(key+".path", "%s is not a readable directory", s.Path)
		}
		if s.DSN != "" || s.Query != "" || s.Lookback != 0 {
			v.add(key+".dsn", "dsn, query and lookback belong to sql sources, not dir")
		}
	case SourceCT:
		v.ctSource(key, s)
		if s.Inventory {
			v.add(key+".inventory", "a CT log is what the inventory is reconciled against, not an inventory")
		}
	case "":
		v.add(key+".type", "type is required (sql, dir or ct)")
	default:
		v.add(key+".type", "unknown source type %q (want sql, dir or ct)", s.Type)
	}
	if s.Type != SourceCT && (s.URL != "" || s.API != "" || s.PublicKey != "" || s.Origin != "" || s.Start != "") {
		v.add(key+".url", "url, api, public_key, origin and start belong to ct sources")
	}
}

func (v *validator) origin(key string, o *Origin, interval Duration, names map[string]string) {
	v.name(key, o.Name, names)
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		v.add(key+".url", "url is required")
	case err != nil:
		v.add(key+".url", "url does not parse: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(key+".url", "url %q must be http or https", o.URL)
	case u.Host == "":
		v.add(key+".url", "url %q has no host", o.URL)
	}
	o.Method = strings.ToUpper(o.Method)
	if o.Method != "GET" && o.Method != "POST" {
		v.add(key+".method", "method %q must be GET or POST", o.Method)
	}
	if o.Timeout <= 0 || o.Timeout > interval {
		v.add(key+".timeout", "timeout %s must be positive and at most ocsp.interval %s", o.Timeout.D(), interval.D())
	}
	if o.Concurrency < 1 || o.Concurrency > 256 {
		v.add(key+".concurrency", "concurrency %d must be between 1 and 256", o.Concurrency)
	}
}
