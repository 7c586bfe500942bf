package ct

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

func TestFrontierFromProofMatchesCompactRange(t *testing.T) {
	tree := testonly.New(rfc6962.DefaultHasher)
	want := rangeFactory().NewEmptyRange(0)
	for k := uint64(1); k <= 130; k++ {
		leaf := []byte(fmt.Sprintf("leaf %d", k-1))
		tree.AppendData(leaf)
		if err := want.Append(rfc6962.DefaultHasher.HashLeaf(leaf), nil); err != nil {
			t.Fatal(err)
		}
		path, err := tree.InclusionProof(k-1, k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := frontierFromProof(tree.LeafHash(k-1), path, k)
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if len(got) != len(want.Hashes()) {
			t.Fatalf("k=%d: %d hashes, want %d", k, len(got), len(want.Hashes()))
		}
		for i := range got {
			if !bytes.Equal(got[i], want.Hashes()[i]) {
				t.Fatalf("k=%d: hash %d differs", k, i)
			}
		}
		if _, err := frontierFromProof(tree.LeafHash(k-1), append(path, path...), k); err == nil && len(path) > 0 {
			t.Fatalf("k=%d: a path of the wrong length was accepted", k)
		}
	}
}

func TestReasonsHaveNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "unknown" || seen[s] {
			t.Fatalf("reason %d: name %q", r, s)
		}
		seen[s] = true
	}
}
