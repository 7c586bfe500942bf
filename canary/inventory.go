package canary

import (
	"math/big"
	"time"
)

// Reconciling CT logs with the CA's inventory (seed 002: 58k certificates
// and 53k precertificates logged to CT but missing from the CA's own
// database). Every tracked certificate remembers the first CT source and the
// first inventory source that found it, and when. A precertificate and its
// final certificate share a serial, so the pair is one tracked entry and
// counts once.

// Sighting is one source finding a certificate: a CT source (CT is its
// position among the configured sources plus one), an inventory source
// (Inventory likewise), or neither (the zero value).
type Sighting struct {
	CT, Inventory int
	At            time.Time
}

// sightings is what a tracked certificate keeps of them (0: never).
type sightings struct {
	ct, inventory int16
	// Logged once each: found missing from the inventory, found unlogged.
	missingLogged, unloggedLogged bool
	// Unix seconds: second precision is plenty against graces of minutes.
	ctAt, inventoryAt uint32
}

// add records s; it reports whether anything changed.
func (w *sightings) add(s Sighting) bool {
	changed := false
	if s.CT > 0 && w.ct == 0 {
		w.ct, w.ctAt, changed = int16(s.CT), unixSeconds(s.At), true
	}
	if s.Inventory > 0 && w.inventory == 0 {
		w.inventory, w.inventoryAt, changed = int16(s.Inventory), unixSeconds(s.At), true
	}
	return changed
}

// missing: in a CT log, and in no inventory source although every one of
// them has been read up to grace after the log was (upTo: the time all
// inventory sources are known complete to, never later than now).
func (w sightings) missing(upTo int64, grace time.Duration) bool {
	return w.ct > 0 && w.inventory == 0 && upTo-int64(w.ctAt)*1e9 > int64(grace)
}

// unlogged: in the inventory, in no CT log grace after.
func (w sightings) unlogged(now int64, grace time.Duration) bool {
	return w.inventory > 0 && w.ct == 0 && now-int64(w.inventoryAt)*1e9 > int64(grace)
}

// Reconciliation counts, per CT source and kind, certificates missing from
// the inventory, and per inventory source and kind, certificates no CT log
// has; Found lists those newly found either way (each logged once).
type Reconciliation struct {
	Missing, Unlogged map[SourceKind]int
	Found             []Discrepancy
}

// SourceKind is a source (its position among the configured sources plus
// one) and a certificate kind.
type SourceKind struct {
	Source int
	Kind   string
}

// Discrepancy is one certificate newly found missing from the inventory
// (Missing) or from every CT log.
type Discrepancy struct {
	Serial  *big.Int
	Kind    string
	Source  int // the CT source that has it, or the inventory source (position + 1)
	Missing bool
}

// Reconcile counts the discrepancies now. invUpTo is how far every
// inventory source has been read (an inventory that is down or behind makes
// nothing newly missing); ctGrace applies only when checkCT (some CT source
// is configured).
func (t *Tracker) Reconcile(now, invUpTo time.Time, invGrace, ctGrace time.Duration, checkCT bool) Reconciliation {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	r := Reconciliation{Missing: map[SourceKind]int{}, Unlogged: map[SourceKind]int{}}
	at, upTo := now.UnixNano(), min(invUpTo.UnixNano(), now.UnixNano())
	t.invUpTo.Store(upTo)
	// Only certificates found on one side can be missing from the other.
	for slot := range t.oneSided {
		c := &t.certs[slot]
		w := &c.sightings
		if w.missing(upTo, invGrace) {
			r.Missing[SourceKind{int(w.ct), c.kind()}]++
			if !w.missingLogged {
				w.missingLogged = true
				t.changed(c.key)
				r.Found = append(r.Found, Discrepancy{Serial: c.key.bigInt(), Kind: c.kind(), Source: int(w.ct), Missing: true})
			}
		}
		if checkCT && w.unlogged(at, ctGrace) {
			r.Unlogged[SourceKind{int(w.inventory), c.kind()}]++
			if !w.unloggedLogged {
				w.unloggedLogged = true
				t.changed(c.key)
				r.Found = append(r.Found, Discrepancy{Serial: c.key.bigInt(), Kind: c.kind(), Source: int(w.inventory)})
			}
		}
	}
	return r
}
