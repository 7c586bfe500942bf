package ct

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/cttest"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
)

const baseTS = uint64(1_790_000_000_000) // ms

// fill logs n entries from p's CA, alternating certificates and
// precertificates, plus every 10th from a stranger CA; entry i has timestamp
// baseTS+i.
func fill(t *testing.T, f *cttest.FakeRFC6962, p *testpki.PKI, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		issuer := p.CA
		if i%10 == 9 {
			issuer = p.Stranger
		}
		leaf := p.Leaf(t, int64(i+1), i%2 == 1)
		if issuer == p.Stranger {
			leaf = strangerLeaf(t, p, int64(i+1), i%2 == 1)
		}
		f.Add([][]byte{leaf, issuer.Raw}, i%2 == 1, baseTS+uint64(i))
	}
}

func strangerLeaf(t *testing.T, p *testpki.PKI, serial int64, precert bool) []byte {
	t.Helper()
	q := &testpki.PKI{CA: p.Stranger, CAKey: p.StrangerKey, ResponderKey: p.ResponderKey}
	return q.Leaf(t, serial, precert)
}

// fakeConfig reads f with small batches, so a few hundred entries span
// several parallel get-entries rounds.
func fakeConfig(t *testing.T, f *cttest.FakeRFC6962) Config {
	return Config{URL: f.URL(), API: APIRFC6962, PublicKey: cttest.PublicKey(t, f.Key()), BatchSize: 64, Parallel: 4}
}

// readAll reads the whole published tree from pos.
func readAll(t *testing.T, l Log, pos Position) (Position, []*Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tree, err := l.Head(ctx)
	if err != nil {
		return pos, nil, err
	}
	var got []*Entry
	pos, err = l.Read(ctx, pos, tree, func(e *Entry) error { got = append(got, e); return nil })
	return pos, got, err
}

func newLog(t *testing.T, cfg Config) Log {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRFC6962TailsEveryEntry(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 300)
	l := newLog(t, fakeConfig(t, f))
	issuers := NewIssuers([]*x509.Certificate{p.CA})

	pos, got, err := readAll(t, l, Position{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, f, p, 300, 157)
	pos, more, err := readAll(t, l, pos)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, more...)
	if len(got) != 457 || pos.Index != 457 || pos.TreeSize != 457 {
		t.Fatalf("read %d entries, position %+v; want 457", len(got), pos)
	}
	matched := 0
	for i, e := range got {
		if e.Index != int64(i) || e.Timestamp.UnixMilli() != int64(baseTS)+int64(i) || e.IsPrecert != (i%2 == 1) {
			t.Fatalf("entry %d: index %d timestamp %d precert %v", i, e.Index, e.Timestamp.UnixMilli(), e.IsPrecert)
		}
		if e.IsPrecert && len(e.PreCertificate) == 0 {
			t.Fatalf("entry %d: precertificate missing", i)
		}
		if _, ok := issuers.Match(e); ok {
			matched++
		} else if i%10 != 9 {
			t.Fatalf("entry %d from the CA not matched", i)
		}
	}
	if want := 457 - 45; matched != want {
		t.Fatalf("matched %d, want %d (the stranger's excluded)", matched, want)
	}
}

func TestRFC6962StartAtIndexProvesFrontier(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 40)
	l := newLog(t, fakeConfig(t, f))
	ctx := context.Background()
	tree, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []int64{1, 2, 7, 16, 33, 39, 40, -1} {
		pos, err := l.Start(ctx, tree, start)
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		_, got, err := readAll(t, l, pos)
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		want := 40 - start
		if start < 0 {
			want = 0
		}
		if int64(len(got)) != want || (want > 0 && got[0].Index != start) {
			t.Fatalf("start %d: read %d entries", start, len(got))
		}
	}
}

func TestRFC6962RefusesWrongKey(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 5)
	f.SetSTHKey(cttest.NewLogKey(t))
	_, got, err := readAll(t, newLog(t, fakeConfig(t, f)), Position{})
	if ReasonOf(err) != ReasonBadSignature || len(got) != 0 {
		t.Fatalf("err %v (%v), %d entries; want bad_signature and none", err, ReasonOf(err), len(got))
	}
}

func TestRFC6962RefusesForkAndRewind(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 100)
	l := newLog(t, fakeConfig(t, f))
	pos, _, err := readAll(t, l, Position{})
	if err != nil {
		t.Fatal(err)
	}

	// A split view: same size, another root.
	f.Fork(50)
	if _, got, err := readAll(t, l, pos); ReasonOf(err) != ReasonInconsistent || len(got) != 0 {
		t.Fatalf("fork: err %v, %d entries; want inconsistent and none", err, len(got))
	}
	// The forked log grows: its new tree does not extend the verified one.
	fill(t, f, p, 100, 20)
	after, got, err := readAll(t, l, pos)
	if ReasonOf(err) != ReasonInconsistent || len(got) != 0 || after.Index != pos.Index || after.TreeSize != pos.TreeSize {
		t.Fatalf("grown fork: err %v, %d entries, position %d/%d; want inconsistent, none, unchanged", err, len(got),
			after.Index, after.TreeSize)
	}
	// A rewound log.
	f.Publish(60)
	if _, got, err := readAll(t, l, pos); ReasonOf(err) != ReasonInconsistent || len(got) != 0 {
		t.Fatalf("rewind: err %v, %d entries; want inconsistent and none", err, len(got))
	}
}

// A log serving entries its signed tree does not contain (the tree is
// honest, the entries are not) is refused before any entry is passed on.
func TestRFC6962RefusesEntriesNotInTree(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 30)
	l := newLog(t, fakeConfig(t, f))
	pos, _, err := readAll(t, l, Position{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, f, p, 30, 30)
	f.SwapEntries(45, 46)
	after, got, err := readAll(t, l, pos)
	if ReasonOf(err) != ReasonInconsistent || len(got) != 0 || after.Index != 30 {
		t.Fatalf("err %v, %d entries, index %d; want inconsistent, none, 30", err, len(got), after.Index)
	}
}

func TestRFC6962BacksOffOnPushback(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 10)
	l := newLog(t, fakeConfig(t, f))
	f.Pushback(2)
	_, got, err := readAll(t, l, Position{})
	if err != nil || len(got) != 10 {
		t.Fatalf("after two 429s: err %v, %d entries; want all 10", err, len(got))
	}

	// A log that never stops pushing back: rate_limited once the deadline passes.
	f.Pushback(1 << 30)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err = l.Head(ctx)
	if ReasonOf(err) != ReasonRateLimited {
		t.Fatalf("err %v (%v), want rate_limited", err, ReasonOf(err))
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *ct.Error", err)
	}
}

func TestRFC6962StopsWhereCallerStops(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	fill(t, f, p, 0, 50)
	l := newLog(t, fakeConfig(t, f))
	ctx := context.Background()
	tree, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("full")
	pos, err := l.Read(ctx, Position{}, tree, func(e *Entry) error {
		if e.Index == 20 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || pos.Index != 20 {
		t.Fatalf("err %v, index %d; want the caller's error at 20", err, pos.Index)
	}
	_, rest, err := readAll(t, l, pos)
	if err != nil || len(rest) != 30 || rest[0].Index != 20 {
		t.Fatalf("resume: err %v, %d entries", err, len(rest))
	}
}

// A precertificate signed by a precertificate signing CA (RFC 6962 3.1)
// belongs to the CA that issued the signing CA: its issuer_key_hash is
// that CA's key, whatever signed it.
func TestIssuersMatchPrecertFromSigningCA(t *testing.T) {
	p := testpki.New(t)
	psc := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "precert signing CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}}}
	der, err := x509.CreateCertificate(rand.Reader, psc, p.CA, p.ResponderKey.Public(), p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	pscCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// The precertificate, signed by the signing CA (its key is the responder's here).
	signed := &testpki.PKI{CA: pscCert, CAKey: p.ResponderKey, ResponderKey: p.ResponderKey}
	pre := signed.Leaf(t, 5, true)

	f := cttest.NewFakeRFC6962(t)
	f.Add([][]byte{pre, pscCert.Raw, p.CA.Raw}, true, baseTS)
	f.Add([][]byte{strangerLeaf(t, p, 6, true), p.Stranger.Raw}, true, baseTS+1)
	_, got, err := readAll(t, newLog(t, fakeConfig(t, f)), Position{})
	if err != nil || len(got) != 2 {
		t.Fatalf("err %v, %d entries", err, len(got))
	}
	issuers := NewIssuers([]*x509.Certificate{p.Stranger, p.CA})
	if i, ok := issuers.Match(got[0]); !ok || i != 1 {
		t.Errorf("precertificate from the signing CA: issuer %d, %v; want the CA (1)", i, ok)
	}
	if i, ok := issuers.Match(got[1]); !ok || i != 0 {
		t.Errorf("stranger's precertificate: issuer %d, %v; want the stranger (0)", i, ok)
	}
	if s, err := got[0].Serial(); err != nil || s.Int64() != 5 {
		t.Errorf("serial %v, %v", s, err)
	}
}

// A log that answers nothing: each request times out, the call's deadline
// passes, and it is a timeout (a slow log), not a fetch failure.
func TestRFC6962SlowLogIsTimeout(t *testing.T) {
	f := cttest.NewFakeRFC6962(t)
	f.Add([][]byte{testpki.New(t).Leaf(t, 1, false)}, false, baseTS)
	cfg := fakeConfig(t, f)
	cfg.Timeout = 200 * time.Millisecond
	l := newLog(t, cfg)
	f.Stall(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := l.Head(ctx); ReasonOf(err) != ReasonTimeout {
		t.Fatalf("err %v (%v), want timeout", err, ReasonOf(err))
	}
}
