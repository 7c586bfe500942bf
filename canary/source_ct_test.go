package canary

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/ct"
	"github.com/certstatus/certstatus_exporter/internal/cttest"
	"github.com/certstatus/certstatus_exporter/internal/testpki"
	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

const ctBaseTS = uint64(1_790_000_000_000) // ms

// logEntries adds n entries from index from: certificates and
// precertificates alternately, every 5th from a stranger CA; entry i has
// serial i+1 and timestamp ctBaseTS+i.
func logEntries(t *testing.T, f *cttest.FakeRFC6962, p *testpki.PKI, from, n int) {
	t.Helper()
	stranger := &testpki.PKI{CA: p.Stranger, CAKey: p.StrangerKey, ResponderKey: p.ResponderKey}
	for i := from; i < from+n; i++ {
		signer, issuer := p, p.CA
		if i%5 == 4 {
			signer, issuer = stranger, p.Stranger
		}
		f.Add([][]byte{signer.Leaf(t, int64(i+1), i%2 == 1), issuer.Raw}, i%2 == 1, ctBaseTS+uint64(i))
	}
}

func ctSourceConfig(t *testing.T, f *cttest.FakeRFC6962, start int64) config.Source {
	return config.Source{Name: "log-a", Type: config.SourceCT, URL: f.URL(), API: config.CTAPIRFC6962,
		LogKey: cttest.PublicKey(t, f.Key()), StartIndex: start}
}

// fetchCT runs one pass and returns the serials found, checking each one's
// clock: the log's timestamp, provenance ct_log.
func fetchCT(t *testing.T, s *CTSource) ([]int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found, err := s.Fetch(ctx)
	s.Commit() // as the canary does once what was read is stored
	var serials []int64
	for _, f := range found {
		c, perr := x509.ParseCertificate(f.Raw)
		if perr != nil {
			t.Fatal(perr)
		}
		i := c.SerialNumber.Int64() - 1
		if f.Provenance != ProvenanceCTLog || f.PublishedAt.UnixMilli() != int64(ctBaseTS)+i {
			t.Errorf("serial %d: published %v (%v), want the log's timestamp", i+1, f.PublishedAt.UnixMilli(), f.Provenance)
		}
		serials = append(serials, c.SerialNumber.Int64())
	}
	return serials, err
}

func gauges(s *CTSource) map[string]float64 {
	ch := make(chan prometheus.Metric, 10)
	s.collect(ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err == nil {
			out[m.Desc().String()] = d.GetGauge().GetValue()
		}
	}
	return out
}

func TestCTSourceReadsResumesAndRefuses(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	logEntries(t, f, p, 0, 10)
	st := store.Open(t.TempDir(), quiet)
	defer st.Close()
	m := newCTMetrics()
	issuers := []*x509.Certificate{p.CA}

	// First run from index 4: the lab CA's entries 5..8 (4 and 9 are the stranger's).
	s, err := NewCTSource(ctSourceConfig(t, f, 4), issuers, 5*time.Second, m, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fetchCT(t, s)
	if err != nil || len(got) != 4 || got[0] != 6 || got[3] != 9 {
		t.Fatalf("first pass: %v, %v; want serials 6..9", got, err)
	}
	if r, mt := testutil.ToFloat64(m.read.WithLabelValues("log-a")), testutil.ToFloat64(m.matched.WithLabelValues("log-a")); r != 6 || mt != 4 {
		t.Errorf("read %v matched %v, want 6 and 4", r, mt)
	}
	if g := gauges(s); g[ctPosition.String()] != 10 || g[ctBehind.String()] != 0 || g[ctTreeSize.String()] != 10 {
		t.Errorf("gauges %v", g)
	}

	// A restart: the persisted position, not start, decides.
	logEntries(t, f, p, 10, 5)
	s, err = NewCTSource(ctSourceConfig(t, f, 0), issuers, 5*time.Second, m, st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = fetchCT(t, s); err != nil || len(got) != 4 || got[0] != 11 || got[3] != 14 {
		t.Fatalf("after a restart: %v, %v; want serials 11..14", got, err)
	}

	// The same name on another log: its own start, not the other log's position.
	g := cttest.NewFakeRFC6962(t)
	logEntries(t, g, p, 0, 3)
	other, err := NewCTSource(ctSourceConfig(t, g, 0), issuers, 5*time.Second, m, st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = fetchCT(t, other); err != nil || len(got) != 3 {
		t.Fatalf("another log under the same name: %v, %v; want its 3 entries", got, err)
	}

	// A fork: refused and counted; nothing found; the position stays.
	f.Fork(12)
	before, _ := s.Position()
	if got, err = fetchCT(t, s); ct.ReasonOf(err) != ct.ReasonInconsistent || len(got) != 0 {
		t.Fatalf("fork: %v, %v; want inconsistent and nothing", got, err)
	}
	if after, _ := s.Position(); after.Index != before.Index || after.TreeSize != before.TreeSize {
		t.Errorf("position moved on a fork: %+v -> %+v", before, after)
	}
	if v := testutil.ToFloat64(m.errors.WithLabelValues("log-a", "inconsistent")); v != 1 {
		t.Errorf("inconsistent errors %v, want 1", v)
	}
}

// A precertificate signed by a precertificate signing CA is tracked as its
// CA's: no configured issuer signed it, but the log's issuer_key_hash says
// whose it is.
func TestCTSourcePrecertFromSigningCA(t *testing.T) {
	p := testpki.New(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "precert signing CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, p.ResponderKey.Public(), p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	psc, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	bySigningCA := &testpki.PKI{CA: psc, CAKey: p.ResponderKey, ResponderKey: p.ResponderKey}
	f := cttest.NewFakeRFC6962(t)
	f.Add([][]byte{bySigningCA.Leaf(t, 5, true), psc.Raw, p.CA.Raw}, true, ctBaseTS)

	s, err := NewCTSource(ctSourceConfig(t, f, 0), []*x509.Certificate{p.Stranger, p.CA}, 5*time.Second, newCTMetrics(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found, err := s.Fetch(ctx)
	if err != nil || len(found) != 1 {
		t.Fatalf("%d found, %v", len(found), err)
	}
	issuers := []*ocsp.Issuer{mustIssuer(t, p.Stranger), mustIssuer(t, p.CA)}
	ic, err := ParseIssued(found[0], issuers, time.Now())
	if err != nil || ic.Issuer != 1 || ic.Kind != KindPrecertificate || ic.Serial.Int64() != 5 {
		t.Fatalf("parsed %+v, %v; want the CA's (1) precertificate 5", ic, err)
	}
	// The same precertificate from a source that does not know (a spool): unknown issuer.
	if _, err := ParseIssued(Found{Raw: found[0].Raw}, issuers, time.Now()); reasonOf(err) != SourceErrUnknownIssuer {
		t.Errorf("without the CT source's word: %v, want unknown_issuer", err)
	}
}

func mustIssuer(t *testing.T, c *x509.Certificate) *ocsp.Issuer {
	t.Helper()
	is, err := ocsp.NewIssuer(c)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// A position is written only by Commit, which the canary calls once what
// was read is on disk: a crash before that reads the entries again.
func TestCTPositionWaitsForCommit(t *testing.T) {
	p := testpki.New(t)
	f := cttest.NewFakeRFC6962(t)
	logEntries(t, f, p, 0, 4)
	st := store.Open(t.TempDir(), quiet)
	defer st.Close()
	s, err := NewCTSource(ctSourceConfig(t, f, 0), []*x509.Certificate{p.CA}, 5*time.Second, newCTMetrics(), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if found, err := s.Fetch(ctx); err != nil || len(found) == 0 {
		t.Fatalf("first read: %d, %v", len(found), err)
	}
	// "Crash" before Commit: a new source starts where the last commit was.
	s2, err := NewCTSource(ctSourceConfig(t, f, 0), []*x509.Certificate{p.CA}, 5*time.Second, newCTMetrics(), st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fetchCT(t, s2); err != nil || len(got) == 0 {
		t.Errorf("after a crash before the commit: %v, %v; want the entries again", got, err)
	}
}

// The precertificate a log hands over with an entry is outside the Merkle
// tree; one whose serial differs from the logged TBSCertificate is refused.
func TestPrecertMustMatchTheLoggedTBS(t *testing.T) {
	p := testpki.New(t)
	tbsOf := func(serial int64) []byte {
		c, err := x509.ParseCertificate(p.Leaf(t, serial, true))
		if err != nil {
			t.Fatal(err)
		}
		return c.RawTBSCertificate
	}
	e := &ct.Entry{IsPrecert: true, Certificate: tbsOf(5), PreCertificate: p.Leaf(t, 5, true)}
	if err := precertMatchesLeaf(e); err != nil {
		t.Errorf("matching precertificate refused: %v", err)
	}
	e.PreCertificate = p.Leaf(t, 6, true)
	if err := precertMatchesLeaf(e); err == nil {
		t.Error("a precertificate with another serial than the logged TBS was accepted")
	}
}
