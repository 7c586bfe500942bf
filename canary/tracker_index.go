package canary

import "hash/maphash"

// slotIndex finds a certificate's slot by its key. Hand-written open
// addressing over the slots (4 bytes an entry at most 3/4 full) rather than
// a map[certKey]int32, which holds a second copy of every 24-byte key:
// about 40 bytes per tracked certificate, a sixth of the budget (issue 12).
// Linear probing; a deletion shifts the entries after it back, so there
// are no tombstones.
type slotIndex struct {
	table []int32 // slot + 1; 0 is empty
	n     int
	seed  maphash.Seed
}

func newSlotIndex() slotIndex { return slotIndex{table: make([]int32, 64), seed: maphash.MakeSeed()} }

func (x *slotIndex) home(k certKey) int {
	return int(maphash.Comparable(x.seed, k) & uint64(len(x.table)-1))
}

// find returns the slot holding k; keyAt reads a slot's key.
func (x *slotIndex) find(k certKey, keyAt func(int32) certKey) (int32, bool) {
	for i := x.home(k); ; i = (i + 1) & (len(x.table) - 1) {
		e := x.table[i]
		if e == 0 {
			return 0, false
		}
		if keyAt(e-1) == k {
			return e - 1, true
		}
	}
}

// put adds slot under k, which is not in the index.
func (x *slotIndex) put(k certKey, slot int32, keyAt func(int32) certKey) {
	if 4*(x.n+1) > 3*len(x.table) {
		x.grow(keyAt)
	}
	i := x.home(k)
	for x.table[i] != 0 {
		i = (i + 1) & (len(x.table) - 1)
	}
	x.table[i] = slot + 1
	x.n++
}

func (x *slotIndex) grow(keyAt func(int32) certKey) {
	old := x.table
	x.table, x.n = make([]int32, 2*len(old)), 0
	for _, e := range old {
		if e != 0 {
			x.put(keyAt(e-1), e-1, keyAt)
		}
	}
}

// del removes k, which is in the index.
func (x *slotIndex) del(k certKey, keyAt func(int32) certKey) {
	mask := len(x.table) - 1
	i := x.home(k)
	for keyAt(x.table[i]-1) != k {
		i = (i + 1) & mask
	}
	// Shift back each following entry whose home is not between the hole
	// and it (cyclically), so every entry stays reachable from its home.
	for j := (i + 1) & mask; x.table[j] != 0; j = (j + 1) & mask {
		h := x.home(keyAt(x.table[j] - 1))
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			x.table[i], i = x.table[j], j
		}
	}
	x.table[i] = 0
	x.n--
}

// Index operations of the tracker, its slots' keys being in t.certs.

func (t *Tracker) keyAt(slot int32) certKey { return t.certs[slot].key }

func (t *Tracker) find(k certKey) (int32, bool) { return t.index.find(k, t.keyAt) }
