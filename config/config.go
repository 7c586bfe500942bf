// Package config holds certstatus_exporter's configuration: its types, its
// defaults and its validation, all in one place.
package config

import (
	"crypto"
	"crypto/x509"
	"time"
)

// Config is the whole file. Keys follow the design's contract; new keys may be
// added, existing ones are never renamed.
type Config struct {
	Primary     *Database   `yaml:"primary"`
	Replicas    []Replica   `yaml:"replicas"`
	Replication Replication `yaml:"replication"`
	OCSP        OCSP        `yaml:"ocsp"`
	Web         Web         `yaml:"web"`
	CRL         CRL         `yaml:"crl"`
}

// Database is a read-only connection. The password may live in PasswordFile so
// that it stays out of the config file; it is read at every connect.
type Database struct {
	DSN          string `yaml:"dsn"`
	PasswordFile string `yaml:"password_file"`
}

// Replica is one streaming standby, named for the replica label.
type Replica struct {
	Name     string `yaml:"name"`
	Database `yaml:",inline"`
	// Slot names the physical replication slot the replica streams from, if
	// any; its safe_wal_size then gives the WAL headroom.
	Slot string `yaml:"slot"`
	// Upstream names the replica this one streams from (a cascading
	// replica); lag and headroom are then measured against it. Empty: the primary.
	Upstream string `yaml:"upstream"`
}

// Replication tunes the replication probe.
type Replication struct {
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
	// RateWindow is how far back the primary's WAL rate is measured.
	RateWindow Duration `yaml:"rate_window"`
	// History is how long the primary's positions are remembered, which caps
	// the replay lag in seconds that can be told exactly.
	History Duration `yaml:"history"`
}

// OCSP tunes the canary.
type OCSP struct {
	Interval Duration `yaml:"interval"`
	SLA      Duration `yaml:"sla"`
	Timeout  Duration `yaml:"timeout"`
	// TrackFor is how long a certificate stays tracked after issuance.
	TrackFor Duration `yaml:"track_for"`
	// RecheckInterval is how often an authoritative certificate is asked again.
	RecheckInterval Duration `yaml:"recheck_interval"`
	// RecheckRate is the recheck budget: at most this many rechecks of
	// authoritative certificates per second per origin. First checks, and
	// certificates not yet authoritative, never wait for it.
	RecheckRate float64 `yaml:"recheck_rate"`
	MaxTracked  int     `yaml:"max_tracked"`
	// ComplianceInterval is how often each origin gets the compliance probes.
	ComplianceInterval Duration `yaml:"compliance_interval"`
	// InventoryGrace: a certificate in a CT log but in no inventory source
	// this long after the log saw it is missing from the CA's inventory.
	InventoryGrace Duration `yaml:"inventory_grace"`
	// CTGrace: a certificate in an inventory source but in no CT log this
	// long after it was seen is unlogged (only with a ct source).
	CTGrace Duration `yaml:"ct_grace"`
	Issuers []string `yaml:"issuers"`
	Sources []Source `yaml:"sources"`
	Origins []Origin `yaml:"origins"`

	// IssuerCerts are the CA certificates read from Issuers during validation.
	IssuerCerts []*x509.Certificate `yaml:"-"`
}

// Source types.
const (
	SourceSQL = "sql"
	SourceDir = "dir"
	SourceCT  = "ct"
)

// CT log read APIs (source key api).
const (
	CTAPIStatic  = "static"
	CTAPIRFC6962 = "rfc6962"
)

// Source is where just-issued certificates come from.
type Source struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// Inventory marks the CA's own record of what it issued (its database):
	// CT logs are reconciled against the inventory sources.
	Inventory bool `yaml:"inventory"`
	Database  `yaml:",inline"`
	Query     string `yaml:"query"`
	// Lookback (an incremental sql query): how far behind its high-water
	// mark $1 is, so that rows committed after rows with later times (two
	// inserting transactions committing out of order) are still read.
	Lookback Duration `yaml:"lookback"`
	Path     string   `yaml:"path"`

	// A ct source: a CT log's read URL, its API (static or rfc6962), its
	// public key (PEM file), its checkpoint origin (static only), and where
	// to start on the very first run: latest, or an entry index.
	URL       string `yaml:"url"`
	API       string `yaml:"api"`
	PublicKey string `yaml:"public_key"`
	Origin    string `yaml:"origin"`
	Start     string `yaml:"start"`

	// LogKey is the key read from PublicKey and StartIndex the parsed
	// start (-1: latest), both during validation.
	LogKey     crypto.PublicKey `yaml:"-"`
	StartIndex int64            `yaml:"-"`
}

// Origin is one OCSP responder URL: a single origin node, or the CDN.
type Origin struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Host overrides the Host header, to reach one origin node directly.
	Host        string   `yaml:"host"`
	Method      string   `yaml:"method"`
	Timeout     Duration `yaml:"timeout"`
	Concurrency int      `yaml:"concurrency"`
	// CDN marks the public URL; its answers are compared with the origins'.
	CDN bool `yaml:"cdn"`
	// Compliance: false turns the compliance probes off here (nil: on).
	Compliance *bool `yaml:"compliance"`
}

// Defaults, applied by Load before validation.
const (
	DefaultReplicationInterval = 5 * time.Second
	DefaultReplicationTimeout  = 3 * time.Second
	DefaultRateWindow          = 5 * time.Minute
	DefaultHistory             = 6 * time.Hour
	DefaultOCSPInterval        = 15 * time.Second
	DefaultSLA                 = 15 * time.Minute
	DefaultOCSPTimeout         = 5 * time.Second
	DefaultTrackFor            = 24 * time.Hour
	DefaultInventoryGrace      = 5 * time.Minute
	DefaultCTGrace             = time.Hour
	DefaultRecheckInterval     = 5 * time.Minute
	DefaultMaxTracked          = 200000
	DefaultRecheckRate         = 100
	DefaultLookback            = 5 * time.Second
	DefaultConcurrency         = 4
)

func (c *Config) applyDefaults() {
	setDefault(&c.Replication.Interval, DefaultReplicationInterval)
	setDefault(&c.Replication.Timeout, min(DefaultReplicationTimeout, c.Replication.Interval.D()))
	setDefault(&c.Replication.RateWindow, DefaultRateWindow)
	setDefault(&c.Replication.History, DefaultHistory)
	c.Web.applyDefaults()
	o := &c.OCSP
	setDefault(&o.Interval, DefaultOCSPInterval)
	setDefault(&o.SLA, DefaultSLA)
	setDefault(&o.Timeout, min(DefaultOCSPTimeout, o.Interval.D()))
	setDefault(&o.TrackFor, DefaultTrackFor)
	setDefault(&o.InventoryGrace, DefaultInventoryGrace)
	setDefault(&o.CTGrace, DefaultCTGrace)
	setDefault(&o.RecheckInterval, DefaultRecheckInterval)
	if o.RecheckRate == 0 {
		o.RecheckRate = DefaultRecheckRate
	}
	o.applyComplianceDefaults()
	if o.MaxTracked == 0 {
		o.MaxTracked = DefaultMaxTracked
	}
	c.CRL.applyDefaults()
	for i := range o.Sources {
		if o.Sources[i].Type == SourceSQL {
			setDefault(&o.Sources[i].Lookback, DefaultLookback)
		}
	}
	for i := range o.Origins {
		setDefault(&o.Origins[i].Timeout, o.Timeout.D())
		if o.Origins[i].Method == "" {
			o.Origins[i].Method = "GET"
		}
		if o.Origins[i].Concurrency == 0 {
			o.Origins[i].Concurrency = DefaultConcurrency
		}
	}
}

func setDefault(d *Duration, v time.Duration) {
	if *d == 0 {
		*d = Duration(v)
	}
}
