package canary

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

func TestRanksMatchViewStateRank(t *testing.T) {
	for rank, name := range map[int]string{rankAuthoritative: view.StateAuthoritative, rankPending: view.StatePending, rankOverdue: view.StateOverdue} {
		if view.StateRank(name) != rank {
			t.Errorf("%s: rank %d, view.StateRank %d", name, rank, view.StateRank(name))
		}
	}
}

func due(serial int64) Due { return Due{Issuer: 0, Serial: big.NewInt(serial)} }

// Worst first, longest in breach first; states per origin; "since" is when
// the current result began, not the last check.
func TestTrackerCertificatesPage(t *testing.T) {
	sla := 15 * time.Minute
	tr := NewTracker(2, 10)
	tr.Add(IssuedCert{Serial: big.NewInt(0xa1), PublishedAt: t0, Kind: KindCertificate, Provenance: ProvenanceSourceTime})
	tr.Add(IssuedCert{Serial: big.NewInt(0xb2), PublishedAt: t0.Add(time.Minute), Kind: KindPrecertificate, Provenance: ProvenanceSpoolMTime})
	tr.Add(IssuedCert{Serial: big.NewInt(0xc3), PublishedAt: t0.Add(30 * time.Minute), Kind: KindCertificate, Provenance: ProvenanceSourceTime})
	tr.Add(IssuedCert{Serial: big.NewInt(0xd4), PublishedAt: t0.Add(2 * time.Minute), Kind: KindCertificate, Provenance: ProvenanceSourceTime})
	at1, at2 := t0.Add(5*time.Minute), t0.Add(20*time.Minute)
	unknown := ocsp.Outcome{Result: ocsp.ResultUnknown}
	for _, o := range []int{0, 1} {
		tr.Record(o, due(0xd4), good(at1), at1) // authoritative everywhere
		tr.Record(o, due(0xc3), unknown, at2)
	}
	tr.Record(0, due(0xa1), unknown, at1)
	tr.Record(0, due(0xa1), unknown, at2) // same result: since stays at1
	tr.Record(1, due(0xa1), good(at2), at2)
	tr.Record(0, due(0xb2), unknown, at1)
	tr.Record(0, due(0xb2), ocsp.Outcome{Result: ocsp.ResultTimeout}, at2) // new result: since moves

	now := t0.Add(40 * time.Minute)
	origins, issuers := []string{"origin-1", "origin-2"}, []string{"CN=Lab CA"}
	page, total := tr.Certificates(view.CertificateQuery{State: view.StateOverdue, Limit: 10}, now, sla, origins, issuers)
	if total != 2 || len(page) != 2 {
		t.Fatalf("overdue: total %d, page %d; want 2", total, len(page))
	}
	a1, b2 := page[0], page[1]
	if a1.Serial != "a1" || b2.Serial != "b2" {
		t.Fatalf("order %s %s, want a1 (oldest) then b2", a1.Serial, b2.Serial)
	}
	if a1.Issuer != "CN=Lab CA" || a1.Kind != KindCertificate || a1.Provenance != "source_issued_at" || !a1.PublishedAt.Equal(t0) {
		t.Errorf("a1 = %+v", a1)
	}
	if o := a1.Origins[0]; o.Origin != "origin-1" || o.State != view.StateOverdue || o.Result != "unknown" || !o.Since.Equal(at1) || !o.Asked.Equal(at2) {
		t.Errorf("a1 at origin-1 = %+v; want overdue, unknown since %v, asked %v", o, at1, at2)
	}
	if o := a1.Origins[1]; o.State != view.StateAuthoritative || o.Result != "good" {
		t.Errorf("a1 at origin-2 = %+v, want authoritative good", o)
	}
	if o := b2.Origins[0]; o.Result != "timeout" || !o.Since.Equal(at2) {
		t.Errorf("b2 at origin-1 = %+v, want timeout since %v", o, at2)
	}
	if o := b2.Origins[1]; o.Result != ocsp.ResultNone.String() || o.State != view.StateOverdue || !o.Since.IsZero() {
		t.Errorf("b2 at origin-2, never asked = %+v", o)
	}

	var all []string
	page, total = tr.Certificates(view.CertificateQuery{Limit: 10}, now, sla, origins, issuers)
	for _, c := range page {
		all = append(all, c.Serial)
	}
	if want := []string{"a1", "b2", "c3", "d4"}; total != 4 || !slices.Equal(all, want) {
		t.Errorf("any state: %v of %d, want %v (overdue, pending, authoritative)", all, total, want)
	}
	if !slices.IsSortedFunc(page, view.Compare) {
		t.Error("the tracker's order differs from view.Compare")
	}
	if _, total := tr.Certificates(view.CertificateQuery{State: view.StateAuthoritative, Limit: 10}, now, sla, origins, issuers); total != 2 {
		t.Errorf("authoritative somewhere: %d, want 2 (a1 at origin-2, d4)", total)
	}
	page, total = tr.Certificates(view.CertificateQuery{State: view.StateOverdue, Offset: 1, Limit: 1}, now, sla, origins, issuers)
	if total != 2 || len(page) != 1 || page[0].Serial != "b2" {
		t.Errorf("overdue page 2 of size 1 = %v of %d", page, total)
	}
	if page, total := tr.Certificates(view.CertificateQuery{Offset: 99, Limit: 10}, now, sla, origins, issuers); total != 4 || len(page) != 0 {
		t.Errorf("past the end: %d of %d", len(page), total)
	}
}

// The incident view scans the whole tracker per request: at the default
// max_tracked (200k), all overdue at two origins, one page of 50.
func BenchmarkTrackerCertificatesPage(b *testing.B) {
	const n = 200000
	tr := NewTracker(2, n)
	for i := range n {
		tr.Add(IssuedCert{Serial: big.NewInt(int64(i + 1)), PublishedAt: t0.Add(time.Duration(i) * time.Millisecond),
			Kind: KindCertificate, Provenance: ProvenanceSourceTime})
	}
	now := t0.Add(24 * time.Hour)
	origins, issuers := []string{"origin-1", "origin-2"}, []string{"CN=Lab CA"}
	b.ReportAllocs()
	for b.Loop() {
		page, total := tr.Certificates(view.CertificateQuery{State: view.StateOverdue, Offset: 100, Limit: 50}, now, 15*time.Minute, origins, issuers)
		if total != n || len(page) != 50 {
			b.Fatalf("%d of %d", len(page), total)
		}
	}
}

// Pages selected with the bounded heap are slices of the full order.
func TestTrackerCertificatesPagesAreSlicesOfTheWhole(t *testing.T) {
	tr := NewTracker(2, 100)
	for i := range 60 {
		// Publication times collide on purpose (i%7) so the serial breaks ties.
		tr.Add(IssuedCert{Serial: big.NewInt(int64(1000 - i*13)), PublishedAt: t0.Add(time.Duration(i%7) * time.Minute),
			Kind: KindCertificate, Provenance: ProvenanceSourceTime})
		if i%3 == 0 {
			tr.Record(i%2, due(int64(1000-i*13)), good(t0), t0)
		}
	}
	now, origins := t0.Add(10*time.Minute), []string{"o1", "o2"}
	for _, state := range []string{"", view.StateOverdue, view.StatePending, view.StateAuthoritative} {
		for _, sla := range []time.Duration{time.Minute, 5 * time.Minute} {
			all, total := tr.Certificates(view.CertificateQuery{State: state, Limit: 1000}, now, sla, origins, nil)
			if len(all) != total || !slices.IsSortedFunc(all, view.Compare) {
				t.Fatalf("state %q: %d of %d, sorted %v", state, len(all), total, slices.IsSortedFunc(all, view.Compare))
			}
			for off := 0; off <= total; off += 4 {
				page, n := tr.Certificates(view.CertificateQuery{State: state, Offset: off, Limit: 5}, now, sla, origins, nil)
				want := all[off:min(off+5, total)]
				if n != total || len(page) != len(want) {
					t.Fatalf("state %q offset %d: %d of %d, want %d of %d", state, off, len(page), n, len(want), total)
				}
				for i := range page {
					if page[i].Serial != want[i].Serial {
						t.Fatalf("state %q offset %d: serial %d is %s, want %s", state, off, i, page[i].Serial, want[i].Serial)
					}
				}
			}
		}
	}
}
