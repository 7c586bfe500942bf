package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strconv"
)

// ctSource checks a ct source and reads its log key and start.
func (v *validator) ctSource(key string, s *Source) {
	if u, err := url.Parse(s.URL); s.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(key+".url", "url must be the log's http(s) URL (static-ct-api monitoring prefix or RFC 6962 base URL)")
	}
	if s.API == "" {
		s.API = CTAPIStatic
	}
	switch s.API {
	case CTAPIStatic:
		if s.Origin == "" {
			v.add(key+".origin", "origin is required for a static log (its checkpoints' first line)")
		}
	case CTAPIRFC6962:
		if s.Origin != "" {
			v.add(key+".origin", "origin belongs to static logs, not rfc6962")
		}
	default:
		v.add(key+".api", "unknown api %q (want static or rfc6962)", s.API)
	}
	if s.PublicKey == "" {
		v.add(key+".public_key", "public_key (the log's PEM key file) is required: tree heads are verified with it")
	} else if k, err := readLogKey(s.PublicKey); err != nil {
		v.add(key+".public_key", "%v", err)
	} else {
		s.LogKey = k
	}
	s.StartIndex = -1
	if s.Start != "" && s.Start != "latest" {
		n, err := strconv.ParseInt(s.Start, 10, 64)
		if err != nil || n < 0 {
			v.add(key+".start", "start %q must be latest or an entry index", s.Start)
		}
		s.StartIndex = n
	}
	if s.DSN != "" || s.Query != "" || s.Path != "" {
		v.add(key+".dsn", "dsn, query and path belong to sql and dir sources, not ct")
	}
}

func readLogKey(path string) (any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the log key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s holds no PEM PUBLIC KEY block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
