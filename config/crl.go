package config

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// CRL configures the CRL canary: every shard fetched at every origin (and
// through the CDN) each interval, and every revocation from the CA's own
// record expected on its shard within RevocationDeadline.
type CRL struct {
	Interval Duration `yaml:"interval"`
	// Timeout bounds one fetch; a fetch slower than 10 s is reported as slow
	// even when it finishes (BR 4.10.2).
	Timeout Duration `yaml:"timeout"`
	// RevocationDeadline is how long a revocation may take to be listed at an
	// origin before it counts as overdue (BR 4.9.7: 24 h).
	RevocationDeadline Duration `yaml:"revocation_deadline"`
	// MaxSize caps a CRL body in bytes; a bigger one is a failed check.
	MaxSize int64   `yaml:"max_size"`
	Shards  []Shard `yaml:"shards"`
	// ShardList adds the shards of a CCADB-style "JSON Array of Partitioned
	// CRLs" file; each is named after its URL's last path segment.
	ShardList   *ShardList   `yaml:"shard_list"`
	Origins     []CRLOrigin  `yaml:"origins"`
	Revocations *Revocations `yaml:"revocations"`
}

// Shard is one CRL URL (a whole CRL, or one partition) and the CA signing it.
type Shard struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Issuer string `yaml:"issuer"`

	// IssuerCert is read from Issuer during validation.
	IssuerCert *x509.Certificate `yaml:"-"`
}

// ShardList is a JSON array of CRL URLs, as disclosed in CCADB: a file read
// at load, or a URL the canary fetches at every pass.
type ShardList struct {
	File   string `yaml:"file"`
	URL    string `yaml:"url"`
	Issuer string `yaml:"issuer"`

	// IssuerCert is read from Issuer during validation (URL lists only;
	// a file list's shards carry their own).
	IssuerCert *x509.Certificate `yaml:"-"`
}

// CRLOrigin is one place the CRLs are fetched from: an origin node (reached
// by URL with the shard URL's host in the Host header, or Host if set) or the
// public CDN, whose copies are compared with the origins'.
type CRLOrigin struct {
	Name    string   `yaml:"name"`
	URL     string   `yaml:"url"`
	Host    string   `yaml:"host"`
	CDN     bool     `yaml:"cdn"`
	Timeout Duration `yaml:"timeout"`
}

// Revocations is the CA's record of revocations: a query returning serial
// (decimal text, hex text or bytea), revoked_at and reason (a CRL reason code,
// number or name; NULL for unspecified).
type Revocations struct {
	Database `yaml:",inline"`
	Query    string `yaml:"query"`
}

// CRL defaults.
const (
	DefaultCRLInterval        = time.Minute
	DefaultCRLTimeout         = 30 * time.Second
	DefaultRevocationDeadline = 24 * time.Hour
	DefaultCRLMaxSize         = 64 << 20
)

// Configured reports whether the section asks for anything.
func (c *CRL) Configured() bool {
	return len(c.Shards) > 0 || c.ShardList != nil || len(c.Origins) > 0 || c.Revocations != nil
}

func (c *CRL) applyDefaults() {
	setDefault(&c.Interval, DefaultCRLInterval)
	setDefault(&c.Timeout, min(DefaultCRLTimeout, c.Interval.D()))
	setDefault(&c.RevocationDeadline, DefaultRevocationDeadline)
	if c.MaxSize == 0 {
		c.MaxSize = DefaultCRLMaxSize
	}
	for i := range c.Origins {
		setDefault(&c.Origins[i].Timeout, c.Timeout.D())
	}
}

func (c *CRL) resolvePaths(abs func(*string)) {
	for i := range c.Shards {
		abs(&c.Shards[i].Issuer)
	}
	if c.ShardList != nil {
		abs(&c.ShardList.File)
		abs(&c.ShardList.Issuer)
	}
	if c.Revocations != nil {
		abs(&c.Revocations.PasswordFile)
	}
}

func (v *validator) crl(c *CRL) {
	if !c.Configured() {
		return
	}
	if c.Interval <= 0 {
		v.add("crl.interval", "interval must be positive")
	}
	if c.Timeout <= 0 || c.Timeout > c.Interval {
		v.add("crl.timeout", "timeout %s must be positive and at most the interval %s", c.Timeout.D(), c.Interval.D())
	}
	if c.RevocationDeadline <= 0 {
		v.add("crl.revocation_deadline", "revocation_deadline must be positive")
	}
	if c.MaxSize < 1 {
		v.add("crl.max_size", "max_size must be a positive number of bytes")
	}
	if c.ShardList != nil {
		c.Shards = append(c.Shards, v.shardList(c.ShardList)...)
	}
	if len(c.Shards) == 0 && (c.ShardList == nil || c.ShardList.URL == "") {
		v.add("crl.shards", "at least one shard (or a shard_list) is needed")
	}
	names, urls := map[string]string{}, map[string]string{}
	issuers := map[string]*x509.Certificate{}
	for i := range c.Shards {
		v.shard(fmt.Sprintf("crl.shards[%d]", i), &c.Shards[i], names, urls, issuers)
	}
	if len(c.Origins) == 0 {
		v.add("crl.origins", "at least one origin is needed to fetch the CRLs")
	}
	names = map[string]string{}
	for i := range c.Origins {
		v.crlOrigin(fmt.Sprintf("crl.origins[%d]", i), &c.Origins[i], c.Interval, names)
	}
	if r := c.Revocations; r != nil {
		v.database("crl.revocations", r.Database)
		if strings.TrimSpace(r.Query) == "" {
			v.add("crl.revocations.query", "query is required (serial, revoked_at, reason)")
		}
	}
}

func (v *validator) shard(key string, s *Shard, names, urls map[string]string, issuers map[string]*x509.Certificate) {
	v.name(key, s.Name, names)
	if u := v.httpURL(key+".url", s.URL); u != nil {
		if u.Path == "" || u.Path == "/" {
			v.add(key+".url", "url %q names no CRL path", s.URL)
		}
		if other := urls[s.URL]; other != "" {
			v.add(key+".url", "duplicate url %q (also used by %s)", s.URL, other)
		} else {
			urls[s.URL] = key
		}
	}
	if s.Issuer == "" {
		v.add(key+".issuer", "issuer is required (the PEM file of the CA signing this CRL)")
		return
	}
	if cert, ok := issuers[s.Issuer]; ok {
		s.IssuerCert = cert
		return
	}
	certs, err := readIssuers(s.Issuer)
	switch {
	case err != nil:
		v.add(key+".issuer", "%v", err)
	case len(certs) != 1:
		v.add(key+".issuer", "%s holds %d certificates; a shard has exactly one issuer", s.Issuer, len(certs))
	default:
		s.IssuerCert = certs[0]
	}
	issuers[s.Issuer] = s.IssuerCert
}

// shardList reads a file list into shards now; a URL list is fetched by the
// canary at every pass, so only its URL and issuer are checked here.
func (v *validator) shardList(l *ShardList) []Shard {
	switch {
	case (l.File == "") == (l.URL == ""):
		v.add("crl.shard_list", "exactly one of file and url is required (a JSON array of CRL URLs)")
		return nil
	case l.Issuer == "":
		v.add("crl.shard_list.issuer", "issuer is required (the PEM file of the CA signing these CRLs)")
		return nil
	case l.URL != "":
		v.httpURL("crl.shard_list.url", l.URL)
		switch certs, err := readIssuers(l.Issuer); {
		case err != nil:
			v.add("crl.shard_list.issuer", "%v", err)
		case len(certs) != 1:
			v.add("crl.shard_list.issuer", "%s holds %d certificates; a shard has exactly one issuer", l.Issuer, len(certs))
		default:
			l.IssuerCert = certs[0]
		}
		return nil
	}
	raw, err := os.ReadFile(l.File)
	if err != nil {
		v.add("crl.shard_list.file", "cannot read shard list: %v", err)
		return nil
	}
	shards, err := ParseShardList(raw, l.Issuer)
	if err != nil {
		v.add("crl.shard_list.file", "%s: %v", l.File, err)
	}
	return shards
}

// ParseShardList reads a CCADB "JSON Array of Partitioned CRLs": each URL
// becomes a shard named after its last path segment without ".crl".
func ParseShardList(raw []byte, issuer string) ([]Shard, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("not a JSON array of URLs: %w", err)
	}
	shards := make([]Shard, 0, len(list))
	for _, u := range list {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) URL", u)
		}
		shards = append(shards, Shard{Name: strings.TrimSuffix(path.Base(p.Path), ".crl"), URL: u, Issuer: issuer})
	}
	return shards, nil
}

func (v *validator) crlOrigin(key string, o *CRLOrigin, interval Duration, names map[string]string) {
	v.name(key, o.Name, names)
	if u := v.httpURL(key+".url", o.URL); u != nil && u.Path != "" && !strings.HasSuffix(u.Path, "/") {
		v.add(key+".url", "url %q must end in / (the shard's path is appended)", o.URL)
	}
	if strings.ContainsAny(o.Host, "/ ") {
		v.add(key+".host", "host %q must be a bare host name", o.Host)
	}
	if o.Timeout <= 0 || o.Timeout > interval {
		v.add(key+".timeout", "timeout %s must be positive and at most crl.interval %s", o.Timeout.D(), interval.D())
	}
}

// httpURL checks an http(s) URL with a host and returns it parsed, or nil.
func (v *validator) httpURL(key, raw string) *url.URL {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		v.add(key, "url is required")
	case err != nil:
		v.add(key, "url does not parse: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(key, "url %q must be http or https", raw)
	case u.Host == "":
		v.add(key, "url %q has no host", raw)
	default:
		return u
	}
	return nil
}
