package canary

import (
	"io"
	"math/big"
	"strings"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

const (
	// defaultSerialLen is the serial length for an issuer with nothing
	// tracked: 16 bytes, above the BR's 64 bits of CSPRNG output.
	defaultSerialLen = 16
	// maxSearch bounds the search for a random serial whose request has a
	// given base64 shape (25 ms of CPU): "//" turns up about once in 200
	// tries, so 5000 practically always find it.
	maxSearch = 5000
	// goodSampleLimit bounds the tracked certificates looked at per round.
	goodSampleLimit = 2000
)

// probeTarget is what one request of a check asks about.
type probeTarget struct {
	issuer int
	serial *big.Int
	// known: a tracked certificate the origin last answered good.
	known bool
}

// plan is one round's targets per check; a check with none is skipped.
type plan [checkCount][]probeTarget

func hasSlashes(b64 string) bool { return strings.Contains(b64, "//") }
func hasPlus(b64 string) bool    { return strings.Contains(b64, "+") }
func plusOnly(b64 string) bool   { return hasPlus(b64) && !hasSlashes(b64) }
func plain(b64 string) bool      { return !hasPlus(b64) && !hasSlashes(b64) }

// makePlan picks each check's serials: tracked certificates answered good
// where one has the needed shape (an authoritative answer is then owed),
// else random serials of the issuer's usual length, searched for the shape.
func makePlan(issuers []*ocsp.Issuer, s ComplianceSample, rnd io.Reader) plan {
	var p plan
	if len(issuers) == 0 {
		return p
	}
	for i, is := range issuers {
		n := s.SerialLen[i]
		if n == 0 {
			n = defaultSerialLen
		}
		// A serial whose GET holds neither "//" nor '+', so that a
		// responder's trouble with those is not mistaken for its answer
		// here. (A single '/' is in most issuers' fixed CertID part.)
		if serial := randomSerial(is, n, rnd, plain, nil); serial != nil {
			t := probeTarget{issuer: i, serial: serial}
			p[CheckUnissuedGet] = append(p[CheckUnissuedGet], t)
			p[CheckUnissuedPost] = append(p[CheckUnissuedPost], t)
		}
	}
	good := make([]string, len(s.Good))
	for i, d := range s.Good {
		if der, err := issuers[d.Issuer].Request(d.Serial); err == nil {
			good[i] = ocsp.Base64(der)
		}
	}
	pick := func(shapes ...func(string) bool) []probeTarget {
		for _, shape := range shapes {
			for i, b64 := range good {
				if b64 != "" && shape(b64) {
					return []probeTarget{{issuer: s.Good[i].Issuer, serial: s.Good[i].Serial, known: true}}
				}
			}
		}
		n := s.SerialLen[0]
		if n == 0 {
			n = defaultSerialLen
		}
		if serial := randomSerial(issuers[0], n, rnd, shapes...); serial != nil {
			return []probeTarget{{issuer: 0, serial: serial}}
		}
		return nil
	}
	if len(s.Good) > 0 {
		d := s.Good[0]
		p[CheckSHA256CertID] = []probeTarget{{issuer: d.Issuer, serial: d.Serial, known: true}}
		p[CheckResponseTime] = p[CheckSHA256CertID]
	} else {
		p[CheckResponseTime] = p[CheckUnissuedGet][:min(1, len(p[CheckUnissuedGet]))]
	}
	p[CheckGetSlash] = pick(hasSlashes)
	p[CheckGetSlashEncoded] = p[CheckGetSlash]
	p[CheckGetPlus] = pick(plusOnly, hasPlus)
	p[CheckGetPlusEncoded] = p[CheckGetPlus]
	return p
}

// randomSerial is a random positive serial of n bytes whose request's
// base64 has the first shape found (nil shape: any), or nil. Being random
// and at least 64 bits, it was never issued.
func randomSerial(is *ocsp.Issuer, n int, rnd io.Reader, shapes ...func(string) bool) *big.Int {
	b := make([]byte, n)
	for _, shape := range shapes {
		for range maxSearch {
			if _, err := io.ReadFull(rnd, b); err != nil {
				return nil
			}
			b[0] = 1 + b[0]%127 // positive, and n bytes long
			serial := new(big.Int).SetBytes(b)
			der, err := is.Request(serial)
			if err != nil {
				return nil
			}
			if shape == nil || shape(ocsp.Base64(der)) {
				return serial
			}
		}
	}
	return nil
}
