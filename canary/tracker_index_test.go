package canary

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// The open-addressing index agrees with a map through growth and many
// deletions (each shifting entries back).
func TestSlotIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]certKey, 5000)
	for i := range keys {
		keys[i] = keyOfBytes(i%3, []byte{byte(i >> 8), byte(i)})
	}
	keyAt := func(s int32) certKey { return keys[s] }
	x, want := newSlotIndex(), map[certKey]int32{}
	for step := 0; step < 200000; step++ {
		s := int32(rng.IntN(len(keys)))
		k := keys[s]
		if _, in := want[k]; in && rng.IntN(2) == 0 {
			x.del(k, keyAt)
			delete(want, k)
		} else if !in {
			x.put(k, s, keyAt)
			want[k] = s
		}
		if step%1000 == 0 {
			for i, k := range keys {
				got, ok := x.find(k, keyAt)
				ws, wok := want[k]
				if ok != wok || (ok && got != ws) {
					t.Fatalf("step %d key %d: index (%d, %v), map (%d, %v)", step, i, got, ok, ws, wok)
				}
			}
			if x.n != len(want) {
				t.Fatalf("step %d: index holds %d, map %d", step, x.n, len(want))
			}
		}
	}
}

// The per-certificate records are sized on purpose (docs/ocsp-load.md,
// issue 12's memory budget): a field added here costs a million times over.
func TestRecordSizes(t *testing.T) {
	if n := unsafe.Sizeof(tracked{}); n != 64 {
		t.Errorf("tracked is %d bytes, want 64", n)
	}
	if n := unsafe.Sizeof(originState{}); n != 32 {
		t.Errorf("originState is %d bytes, want 32", n)
	}
}
