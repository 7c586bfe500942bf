package canary

import (
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

func seen(serial int64, kind string, w Sighting) IssuedCert {
	c := issued(serial, w.At)
	c.Kind, c.SeenBy = kind, w
	return c
}

// Seed 002: a certificate in CT but not in the CA's database is missing
// after the grace, counted once per serial (precertificate and certificate
// together), found (logged) once; the reverse is unlogged.
func TestReconcile(t *testing.T) {
	tr := NewTracker(1, 10)
	const ct, inv = 1, 2 // source positions + 1
	grace, ctGrace := 5*time.Minute, time.Hour
	// 1: precert and cert in CT, never in the inventory.
	tr.Add(seen(1, KindPrecertificate, Sighting{CT: ct, At: t0}))
	tr.Add(seen(1, KindCertificate, Sighting{CT: ct, At: t0.Add(time.Second)}))
	// 2: in CT, then in the inventory within the grace.
	tr.Add(seen(2, KindPrecertificate, Sighting{CT: ct, At: t0}))
	tr.Add(seen(2, KindCertificate, Sighting{Inventory: inv, At: t0.Add(time.Minute)}))
	// 3: in the inventory only.
	tr.Add(seen(3, KindCertificate, Sighting{Inventory: inv, At: t0}))
	// 4: from a source that is neither (a spool).
	tr.Add(seen(4, KindCertificate, Sighting{At: t0}))

	r := tr.Reconcile(t0.Add(4*time.Minute), t0.Add(4*time.Minute), grace, ctGrace, true)
	if len(r.Missing) != 0 || len(r.Found) != 0 {
		t.Errorf("within the grace: %+v", r)
	}
	r = tr.Reconcile(t0.Add(6*time.Minute), t0.Add(6*time.Minute), grace, ctGrace, true)
	if r.Missing[SourceKind{ct, KindPrecertificate}] != 1 || len(r.Missing) != 1 || len(r.Found) != 1 || r.Found[0].Serial.Int64() != 1 {
		t.Errorf("after the grace: missing %v found %+v; want serial 1 once, as a precertificate", r.Missing, r.Found)
	}
	r = tr.Reconcile(t0.Add(2*time.Hour), t0.Add(2*time.Hour), grace, ctGrace, true)
	if r.Missing[SourceKind{ct, KindPrecertificate}] != 1 || r.Unlogged[SourceKind{inv, KindCertificate}] != 1 || len(r.Found) != 1 || r.Found[0].Missing {
		t.Errorf("later: missing %v unlogged %v found %+v; want 1 missing still, serial 3 newly unlogged", r.Missing, r.Unlogged, r.Found)
	}
	if r := tr.Reconcile(t0.Add(2*time.Hour), t0.Add(2*time.Hour), grace, ctGrace, false); len(r.Unlogged) != 0 {
		t.Errorf("without a CT source nothing is unlogged: %v", r.Unlogged)
	}
}

// Sightings survive a restart by source name; a source no longer configured
// is forgotten.
func TestPersistSightings(t *testing.T) {
	p := newTestPKI(t)
	st := store.Open(t.TempDir(), quiet)
	defer st.Close()
	pe := &persister{st: st, issuers: []*ocsp.Issuer{p.issuer}, origins: []string{"o"}, sources: []string{"ct-log", "certdb"}}
	tr := NewTracker(1, 10)
	tr.Add(seen(1, KindPrecertificate, Sighting{CT: 1, At: t0}))
	tr.Add(seen(1, KindCertificate, Sighting{Inventory: 2, At: t0.Add(time.Minute)}))
	tr.Reconcile(t0.Add(time.Hour), t0.Add(time.Hour), time.Minute, time.Minute, true)
	if err := pe.flush(tr); err != nil {
		t.Fatal(err)
	}
	pe2 := &persister{st: st, issuers: []*ocsp.Issuer{p.issuer}, origins: []string{"o"}, sources: []string{"certdb", "spool"}}
	tr2 := NewTracker(1, 10)
	pe2.load(tr2)
	c, _ := tr2.lookup(keyOf(0, big.NewInt(1)))
	w := c.sightings
	if w.ct != 0 || w.inventory != 1 || w.inventoryAt != unixSeconds(t0.Add(time.Minute)) {
		t.Errorf("restored sightings %+v; want CT forgotten (source gone), inventory = certdb (now first)", w)
	}
}

// An inventory source that is down or behind makes nothing newly missing:
// only what it has read past the grace counts.
func TestReconcileWaitsForTheInventory(t *testing.T) {
	tr := NewTracker(1, 10)
	tr.Add(seen(1, KindPrecertificate, Sighting{CT: 1, At: t0}))
	late := t0.Add(time.Hour)
	if r := tr.Reconcile(late, t0.Add(4*time.Minute), 5*time.Minute, time.Hour, false); len(r.Missing) != 0 {
		t.Errorf("inventory read only to 4 min after the CT sighting: missing %v, want none", r.Missing)
	}
	if r := tr.Reconcile(late, t0.Add(6*time.Minute), 5*time.Minute, time.Hour, false); len(r.Missing) != 1 {
		t.Errorf("inventory read to 6 min after: missing %v, want 1", r.Missing)
	}
}
