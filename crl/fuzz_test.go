package crl

import (
	"math/big"
	"testing"
	"time"
)

// FuzzCheckCRL feeds arbitrary bodies to the parse-and-check path: it must
// never panic, always give a named result, keep a view exactly when the body
// was signed by the issuer, and pass only CRLs whose fields obey the limits.
func FuzzCheckCRL(f *testing.F) {
	ca := newCA(f, "fuzz CA", nil, nil)
	f.Add(ca.sign(f, nil), false, int64(0))
	f.Add(ca.withoutNumber(f, ca.sign(f, nil)), true, int64(3))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, false, int64(9))
	f.Add([]byte("<html>not a CRL</html>"), false, int64(0))
	f.Fuzz(func(t *testing.T, body []byte, partitioned bool, lastNumber int64) {
		exp := Expect{Issuer: ca.Cert, URL: shardURL, Partitioned: partitioned}
		if lastNumber > 0 {
			exp.Last = Mark{Number: big.NewInt(lastNumber), ThisUpdate: testNow.Add(-48 * time.Hour)}
		}
		v, res, err := Check(body, exp, testNow)
		if res.String() == "unknown" {
			t.Fatalf("result %d has no name", res)
		}
		if (err == nil) != (res == ResultOK) {
			t.Fatalf("result %s with error %v", res, err)
		}
		if signed := res == ResultOK || res > ResultIssuerMismatch; signed != (v != nil) {
			t.Fatalf("result %s with view %v", res, v)
		}
		if res == ResultOK {
			if v.Number == nil || v.ThisUpdate.After(testNow) || !v.NextUpdate.After(testNow) ||
				v.NextUpdate.Sub(v.ThisUpdate) > MaxValidity || testNow.Sub(v.ThisUpdate) > MaxAge {
				t.Fatalf("passed a CRL outside the limits: %+v", v)
			}
		}
	})
}
