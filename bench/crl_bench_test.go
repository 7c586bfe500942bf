package bench

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"runtime"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/crl"
)

// bigCRL is a 100,000-entry CRL (16-byte serials, a reason code on each),
// the size a large shard reaches, and its issuer.
func bigCRL(b *testing.B, now time.Time) ([]byte, *x509.Certificate) {
	const entries = 100_000
	ca, key := selfSignedCA(b, "bench CA")
	list := &x509.RevocationList{Number: big.NewInt(42), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(6 * 24 * time.Hour)}
	for i := range entries {
		list.RevokedCertificateEntries = append(list.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: probesSerial(i), RevocationTime: now.Add(-time.Duration(i) * time.Second), ReasonCode: 1 + i%5})
	}
	body, err := x509.CreateRevocationList(rand.Reader, list, ca, key)
	if err != nil {
		b.Fatal(err)
	}
	return body, ca
}

// BenchmarkCRLViewMemory is what the canary keeps per shard and origin
// for a 100,000-entry CRL: the heap a View holds after a GC.
//
//	go test -run '^$' -bench CRLViewMemory -benchtime 1x ./bench/
func BenchmarkCRLViewMemory(b *testing.B) {
	now := time.Now()
	body, ca := bigCRL(b, now)
	exp := crl.Expect{Issuer: ca, URL: "http://crl.example.com/0.crl"}
	// At most a few views are held, whatever -benchtime says.
	const held = 4
	var ms runtime.MemStats
	views := make([]*crl.View, 0, held)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for b.Loop() {
		v, res, err := crl.Check(body, exp, now)
		if res != crl.ResultOK {
			b.Fatalf("%s: %v", res, err)
		}
		if len(views) < held {
			views = append(views, v)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc-before)/float64(len(views)), "retained-bytes/view")
	b.ReportMetric(float64(ms.HeapAlloc-before)/float64(len(views))/100_000, "retained-bytes/entry")
	runtime.KeepAlive(views)
}

// BenchmarkCRLCheck parses and checks a 100,000-entry CRL.
//
//	go test -run '^$' -bench CRLCheck -benchtime 20x -count 3 ./bench/
func BenchmarkCRLCheck(b *testing.B) {
	const entries = 100_000
	now := time.Now()
	body, ca := bigCRL(b, now)
	exp := crl.Expect{Issuer: ca, URL: "http://crl.example.com/0.crl"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v, res, err := crl.Check(body, exp, now)
		if res != crl.ResultOK || len(v.Entries) != entries {
			b.Fatalf("%s: %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64(len(body)), "crl-bytes")
}
