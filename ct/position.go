package ct

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"time"
)

// Hash is a SHA-256 Merkle tree hash.
type Hash = [sha256.Size]byte

// Tree is a verified tree head: signed by the log's key.
type Tree struct {
	Size      int64
	Hash      Hash
	Timestamp time.Time // when the log signed it
}

// Position is where a reader stands in a log. The caller persists it after
// each Read and passes it back; a restart resumes from it.
type Position struct {
	Index    int64 // next entry to read
	TreeSize int64 // size of the last tree proven consistent (0: none yet)
	RootHash Hash  // root hash of that tree
	// Frontier is, for RFC 6962 logs only, the compact range of entries
	// [0, Index): the roots of its perfect subtrees, largest first. It lets
	// each batch of entries be proven part of the new tree.
	Frontier []Hash `json:",omitempty"`
}

// Entry is one log entry.
type Entry struct {
	Index     int64
	Timestamp time.Time // the log's timestamp: when the entry was logged
	// Certificate is the X.509 certificate (DER), or for a precertificate
	// entry its TBSCertificate with the poison extension removed.
	Certificate []byte
	IsPrecert   bool
	// PreCertificate is the precertificate as the CA submitted it (DER), for
	// precertificate entries.
	PreCertificate []byte
	// Issuer is the SHA-256 of the first certificate of the submitted chain:
	// the leaf's issuer (for a precertificate: the issuer or the precertificate
	// signing CA it delegated to). Zero when the chain was empty.
	Issuer Hash
	// IssuerKeyHash is, for precertificate entries, the SHA-256 of the final
	// issuer's SubjectPublicKeyInfo, as RFC 6962 logs it.
	IssuerKeyHash Hash
}

// Serial is the certificate's serial number, from the certificate or, for a
// precertificate entry, the precertificate (same serial as its final one).
func (e *Entry) Serial() (*big.Int, error) {
	der := e.Certificate
	if e.IsPrecert {
		der = e.PreCertificate
	}
	if len(der) == 0 {
		return nil, errors.New("entry has no certificate")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return c.SerialNumber, nil
}

// withoutProof settles what needs no consistency proof, for both APIs:
// nothing verified yet (anything goes), a smaller tree (rewound), the same
// size (the same root, or a fork). settled=false: a proof is needed.
func withoutProof(pos Position, tree Tree) (settled bool, err error) {
	switch {
	case pos.TreeSize == 0:
		return true, nil
	case tree.Size < pos.TreeSize:
		return true, errorf(ReasonInconsistent, "log rewound: tree size %d after %d", tree.Size, pos.TreeSize)
	case tree.Size == pos.TreeSize:
		if tree.Hash != pos.RootHash {
			return true, errorf(ReasonInconsistent, "log forked: two roots for tree size %d", tree.Size)
		}
		return true, nil
	}
	return false, nil
}
