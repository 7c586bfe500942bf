package bench

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
)

func mustParseCert(b *testing.B, raw []byte) *x509.Certificate {
	if block, _ := pem.Decode(raw); block != nil {
		raw = block.Bytes
	}
	c, err := x509.ParseCertificate(raw)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// probesSerial is a 16-byte serial, the size CAs use (RFC 5280 allows 20).
func probesSerial(i int) *big.Int {
	s := new(big.Int).Lsh(big.NewInt(1), 127)
	return s.Add(s, big.NewInt(int64(i)))
}
