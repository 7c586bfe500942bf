package ct

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// API is a log's read protocol.
type API string

// The two CT read APIs.
const (
	APIStatic  API = "static"  // c2sp.org/static-ct-api: checkpoint + tiles
	APIRFC6962 API = "rfc6962" // RFC 6962: get-sth, get-sth-consistency, get-entries
)

// Config is one log to read.
type Config struct {
	URL       string // static: the monitoring prefix; rfc6962: the log's base URL
	API       API
	PublicKey crypto.PublicKey
	Origin    string // static only: the checkpoint's origin line
	// Timeout bounds each HTTP request (and, for static logs, the wait for
	// each next entry, retries included). Default 30s.
	Timeout time.Duration
	// Parallel is how many tile or get-entries requests run at once. Default 8.
	Parallel int
	// BatchSize is, for RFC 6962, the entries asked for per get-entries
	// request (logs may answer with fewer). Default 256.
	BatchSize int
	// Transport replaces the default HTTP transport (tests, proxies).
	Transport http.RoundTripper
}

// UserAgent identifies the exporter to log operators, as static-ct-api asks.
const UserAgent = "certstatus_exporter (+https://github.com/certstatus/certstatus_exporter)"

func (c *Config) defaults() error {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.PublicKey == nil {
		return errors.New("ct: no public key")
	}
	if c.API == APIStatic && c.Origin == "" {
		return errors.New("ct: a static log needs its origin")
	}
	if !strings.HasSuffix(c.URL, "/") {
		c.URL += "/"
	}
	return nil
}

// ParsePublicKey reads a log's public key from PEM (SubjectPublicKeyInfo),
// the form CT log lists publish.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return k, nil
}

// Log reads one CT log.
type Log interface {
	// Head fetches the latest tree head and verifies its signature (and, for
	// static logs, the origin line).
	Head(ctx context.Context) (Tree, error)
	// Read proves tree consistent with pos, then passes the entries from
	// pos.Index up to tree.Size to fn in index order, each authenticated
	// against tree. It returns the position after the last entry fn took;
	// on an inconsistent log, pos unchanged and nothing passed to fn.
	Read(ctx context.Context, pos Position, tree Tree, fn func(*Entry) error) (Position, error)
	// Start is the first-run position in tree: at index, or at the end
	// (latest) when index < 0.
	Start(ctx context.Context, tree Tree, index int64) (Position, error)
}

// New returns the reader for cfg.API.
func New(cfg Config) (Log, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	switch cfg.API {
	case APIStatic:
		return newStatic(cfg)
	case APIRFC6962:
		return newRFC6962(cfg)
	}
	return nil, fmt.Errorf("ct: unknown api %q (static or rfc6962)", cfg.API)
}
