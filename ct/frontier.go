package ct

import (
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// rangeFactory builds RFC 6962 compact ranges.
func rangeFactory() *compact.RangeFactory {
	return &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
}

// frontierFromProof is the compact range of entries [0, k): the roots of its
// perfect subtrees, largest first, from leaf k-1's hash and its audit path in
// the tree of size k. Written here because no library derives it: the audit
// path of the last leaf holds, bottom up, the left siblings inside the
// smallest perfect subtree (as many as k's trailing zero bits), then the
// roots of the larger subtrees to its left (RFC 6962 2.1.1, PATH).
func frontierFromProof(leafHash []byte, path [][]byte, k uint64) ([][]byte, error) {
	inner := bits.TrailingZeros64(k)
	if k == 0 || len(path) != inner+bits.OnesCount64(k)-1 {
		return nil, fmt.Errorf("audit path of %d hashes for the last leaf of a tree of %d", len(path), k)
	}
	h := leafHash
	for _, sib := range path[:inner] {
		h = rfc6962.DefaultHasher.HashChildren(sib, h)
	}
	out := make([][]byte, 0, len(path)-inner+1)
	for i := len(path) - 1; i >= inner; i-- {
		out = append(out, path[i])
	}
	return append(out, h), nil
}

func toHashes(in [][]byte) []Hash {
	out := make([]Hash, len(in))
	for i, h := range in {
		copy(out[i][:], h)
	}
	return out
}

func fromHashes(in []Hash) [][]byte {
	out := make([][]byte, len(in))
	for i := range in {
		out[i] = in[i][:]
	}
	return out
}

// rangeOf is the compact range [0, pos.Index) held in pos.
func rangeOf(pos Position) (*compact.Range, error) {
	if pos.Index == 0 {
		return rangeFactory().NewEmptyRange(0), nil
	}
	r, err := rangeFactory().NewRange(0, uint64(pos.Index), fromHashes(pos.Frontier))
	if err != nil {
		return nil, fmt.Errorf("position %d has no valid frontier: %w", pos.Index, err)
	}
	return r, nil
}
