package probes

import (
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

func due(serial int64) Due { return Due{Issuer: 0, Serial: big.NewInt(serial)} }

// Worst first, longest in breach first; states per origin; "since" is when
// the current result began, not the last check.
func TestTrackerCertificatesPage(t *testing.T) {
	sla := 15 * time.Minute
	tr := NewTracker(2, 10)
	tr.Add(IssuedCert{Serial: big.NewInt(0xa1), IssuedAt: t0, Kind: KindCertificate, Provenance: ProvenanceIssuedAt})
	tr.Add(IssuedCert{Serial: big.NewInt(0xb2), IssuedAt: t0.Add(time.Minute), Kind: KindPrecertificate, Provenance: ProvenanceMtime})
	tr.Add(IssuedCert{Serial: big.NewInt(0xc3), IssuedAt: t0.Add(30 * time.Minute), Kind: KindCertificate})
	tr.Add(IssuedCert{Serial: big.NewInt(0xd4), IssuedAt: t0.Add(2 * time.Minute), Kind: KindCertificate})
	at1, at2 := t0.Add(5*time.Minute), t0.Add(20*time.Minute)
	for _, o := range []int{0, 1} {
		tr.Record(o, due(0xd4), good(at1), at1) // authoritative everywhere
		tr.Record(o, due(0xc3), OCSPResult{Result: ResultUnknown}, at2)
	}
	tr.Record(0, due(0xa1), OCSPResult{Result: ResultUnknown}, at1)
	tr.Record(0, due(0xa1), OCSPResult{Result: ResultUnknown}, at2) // same result: since stays at1
	tr.Record(1, due(0xa1), good(at2), at2)
	tr.Record(0, due(0xb2), OCSPResult{Result: ResultUnknown}, at1)
	tr.Record(0, due(0xb2), OCSPResult{Result: ResultTimeout}, at2) // new result: since moves

	now := t0.Add(40 * time.Minute)
	origins, issuers := []string{"origin-1", "origin-2"}, []string{"CN=Lab CA"}
	p := tr.Certificates(view.CertificateQuery{States: []view.State{view.Overdue, view.Pending}, Limit: 10}, now, sla, origins, issuers)
	if p.Total != 3 || len(p.Certificates) != 3 {
		t.Fatalf("total %d, page %d; want 3 not authoritative everywhere", p.Total, len(p.Certificates))
	}
	var order []string
	for _, c := range p.Certificates {
		order = append(order, c.Serial.Text(16))
	}
	if order[0] != "a1" || order[1] != "b2" || order[2] != "c3" {
		t.Fatalf("order %v, want a1 b2 (overdue, oldest first) then c3 (pending)", order)
	}
	a1 := p.Certificates[0]
	if a1.Issuer != "CN=Lab CA" || a1.Kind != KindCertificate || a1.Provenance != ProvenanceIssuedAt || !a1.PublishedAt.Equal(t0) {
		t.Errorf("a1 = %+v", a1)
	}
	if o := a1.Origins[0]; o.Origin != "origin-1" || o.State != view.Overdue || o.Result != ResultUnknown || !o.Since.Equal(at1) || !o.LastCheck.Equal(at2) {
		t.Errorf("a1 at origin-1 = %+v; want overdue, unknown since %v, last checked %v", o, at1, at2)
	}
	if o := a1.Origins[1]; o.State != view.Authoritative || o.Result != ResultGood {
		t.Errorf("a1 at origin-2 = %+v, want authoritative good", o)
	}
	if o := p.Certificates[1].Origins[0]; o.Result != ResultTimeout || !o.Since.Equal(at2) {
		t.Errorf("b2 at origin-1 = %+v, want timeout since %v", o, at2)
	}
	if o := p.Certificates[1].Origins[1]; o.Result != "" || o.State != view.Overdue || !o.Since.IsZero() {
		t.Errorf("b2 at origin-2, never asked = %+v", o)
	}

	if p := tr.Certificates(view.CertificateQuery{States: []view.State{view.Authoritative}, Limit: 10}, now, sla, origins, issuers); p.Total != 2 {
		t.Errorf("authoritative somewhere: %d, want 2 (a1 at origin-2, d4)", p.Total)
	}
	p = tr.Certificates(view.CertificateQuery{States: []view.State{view.Overdue}, Offset: 1, Limit: 1}, now, sla, origins, issuers)
	if p.Total != 2 || len(p.Certificates) != 1 || p.Certificates[0].Serial.Int64() != 0xb2 {
		t.Errorf("overdue page 2 of size 1 = %d of %d", len(p.Certificates), p.Total)
	}
	if p := tr.Certificates(view.CertificateQuery{Offset: 99, Limit: 10}, now, sla, origins, issuers); p.Total != 4 || len(p.Certificates) != 0 {
		t.Errorf("past the end: %d of %d", len(p.Certificates), p.Total)
	}
}
