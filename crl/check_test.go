package crl

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

const shardURL = "http://crl.example.com/shards/0.crl"

func TestCheck(t *testing.T) {
	ca := newCA(t, "test CA", nil, nil)
	sameNameOtherKey := newCA(t, "test CA", nil, nil)
	sameKeyOtherBytes := newCA(t, "test CA", ca.Key, utf8Subject("test CA"))
	idp := func(uri string) func(*x509.RevocationList) {
		return func(rl *x509.RevocationList) {
			ext, err := IDPExtension(uri)
			if err != nil {
				t.Fatal(err)
			}
			rl.ExtraExtensions = append(rl.ExtraExtensions, ext)
		}
	}
	last := Mark{Number: big.NewInt(5), ThisUpdate: testNow.Add(-time.Hour)}
	cases := []struct {
		name        string
		body        []byte
		partitioned bool
		last        Mark
		want        Result
	}{
		{name: "good", body: ca.sign(t, nil), want: ResultOK},
		{name: "same CRL again", body: ca.sign(t, nil), last: last, want: ResultOK},
		{name: "good partitioned", body: ca.sign(t, idp(shardURL)), partitioned: true, want: ResultOK},
		{name: "garbage", body: []byte("<html>502 Bad Gateway</html>"), want: ResultParseError},
		{name: "PEM, not DER", body: []byte("-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n"), want: ResultParseError},
		{name: "bad signature", body: sameNameOtherKey.sign(t, nil), want: ResultBadSignature},
		{name: "issuer not byte-identical", body: sameKeyOtherBytes.sign(t, nil), want: ResultIssuerMismatch},
		{name: "delta CRL", body: ca.sign(t, func(rl *x509.RevocationList) {
			rl.ExtraExtensions = []pkix.Extension{{Id: oidDeltaCRL, Critical: true, Value: []byte{2, 1, 4}}}
		}), want: ResultDeltaCRL},
		{name: "indirect CRL", body: ca.sign(t, func(rl *x509.RevocationList) {
			rl.RevokedCertificateEntries[0].ExtraExtensions = []pkix.Extension{{Id: oidCertIssuer, Critical: true, Value: []byte{0x30, 0}}}
		}), want: ResultIndirectCRL},
		{name: "IDP missing on a shard", body: ca.sign(t, nil), partitioned: true, want: ResultIDPMissing},
		{name: "wrong IDP", body: ca.sign(t, idp("http://crl.example.com/shards/1.crl")), partitioned: true, want: ResultIDPMismatch},
		{name: "no CRLNumber", body: ca.withoutNumber(t, ca.sign(t, nil)), want: ResultNoNumber},
		{name: "number going backwards", body: ca.sign(t, func(rl *x509.RevocationList) { rl.Number = big.NewInt(4) }), last: last, want: ResultNumberBackwards},
		{name: "number not increased", body: ca.sign(t, func(rl *x509.RevocationList) { rl.ThisUpdate = testNow.Add(-time.Minute) }),
			last: last, want: ResultNumberBackwards},
		{name: "thisUpdate going backwards", body: ca.sign(t, func(rl *x509.RevocationList) {
			rl.Number, rl.ThisUpdate = big.NewInt(6), testNow.Add(-2*time.Hour)
		}), last: last, want: ResultThisUpdateBackwards},
		{name: "future thisUpdate", body: ca.sign(t, func(rl *x509.RevocationList) { rl.ThisUpdate = testNow.Add(time.Minute) }),
			want: ResultThisUpdateFuture},
		{name: "older than 7 days", body: ca.sign(t, func(rl *x509.RevocationList) { rl.ThisUpdate = testNow.Add(-8 * 24 * time.Hour) }),
			want: ResultStale},
		{name: "nextUpdate passed", body: ca.sign(t, func(rl *x509.RevocationList) {
			rl.ThisUpdate, rl.NextUpdate = testNow.Add(-2*time.Hour), testNow.Add(-time.Hour)
		}), want: ResultExpired},
		{name: "nextUpdate more than 10 days out", body: ca.sign(t, func(rl *x509.RevocationList) {
			rl.NextUpdate = rl.ThisUpdate.Add(10*24*time.Hour + time.Second)
		}), want: ResultValidityTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp := Expect{Issuer: ca.Cert, URL: shardURL, Partitioned: tc.partitioned, Last: tc.last}
			v, res, err := Check(tc.body, exp, testNow)
			if res != tc.want {
				t.Fatalf("result %s (%v), want %s", res, err, tc.want)
			}
			if (err == nil) != (res == ResultOK) {
				t.Errorf("result %s with error %v", res, err)
			}
			if trusted := res > ResultIssuerMismatch || res == ResultOK; (v != nil) != trusted {
				t.Errorf("view = %v for result %s", v, res)
			}
		})
	}
}

func TestCheckView(t *testing.T) {
	ca := newCA(t, "test CA", nil, nil)
	body := ca.sign(t, nil)
	v, res, err := Check(body, Expect{Issuer: ca.Cert, URL: shardURL}, testNow)
	if res != ResultOK {
		t.Fatalf("%s: %v", res, err)
	}
	if v.Number.Int64() != 5 || !v.ThisUpdate.Equal(testNow.Add(-time.Hour)) || v.Size != len(body) || len(v.Entries) != 2 {
		t.Errorf("view = %+v", v)
	}
	if e := v.Entries[SerialKey(big.NewInt(100))]; e.Reason != 1 || !e.RevokedAt.Equal(testNow.Add(-2*time.Hour)) {
		t.Errorf("entry 100 = %+v", e)
	}
	m := Mark{}.Advance(v)
	if m.Number.Int64() != 5 || !m.ThisUpdate.Equal(v.ThisUpdate) {
		t.Errorf("mark = %+v", m)
	}
	older := &View{Number: big.NewInt(3), ThisUpdate: v.ThisUpdate.Add(-time.Hour)}
	if m2 := m.Advance(older); m2.Number.Int64() != 5 || !m2.ThisUpdate.Equal(v.ThisUpdate) {
		t.Errorf("mark moved backwards: %+v", m2)
	}
}

func TestParseIDP(t *testing.T) {
	ext, err := IDPExtension(shardURL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseIDP(ext.Value)
	if err != nil || len(got.URIs) != 1 || got.URIs[0] != shardURL || got.Indirect {
		t.Fatalf("parseIDP = %+v, %v", got, err)
	}
	// indirectCRL [4] TRUE, no distribution point.
	got, err = parseIDP([]byte{0x30, 0x03, 0x84, 0x01, 0xff})
	if err != nil || !got.Indirect || len(got.URIs) != 0 {
		t.Fatalf("indirect IDP = %+v, %v", got, err)
	}
	if _, err := parseIDP([]byte{0x30, 0x05, 0x01}); err == nil {
		t.Fatal("truncated IDP parsed")
	}
}

func TestResultNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Results() {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("result %d has name %q", r, s)
		}
		seen[s] = true
	}
	if Result(200).String() != "unknown" {
		t.Error("out of range result has a name")
	}
}
