package ct

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"filippo.io/sunlight"
	ctgo "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func newLogKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signSTH signs a tree head the way an RFC 6962 log does (a TLS
// DigitallySigned over the TreeHeadSignature input).
func signSTH(t testing.TB, key crypto.Signer, size, ts uint64, root Hash) ctgo.DigitallySigned {
	t.Helper()
	input, err := ctgo.SerializeSTHSignatureInput(ctgo.SignedTreeHead{Version: ctgo.V1, TreeSize: size, Timestamp: ts,
		SHA256RootHash: ctgo.SHA256Hash(root)})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(input)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return ctgo.DigitallySigned{Algorithm: tls.SignatureAndHashAlgorithm{Hash: tls.SHA256, Signature: tls.ECDSA}, Signature: sig}
}

// signCheckpoint is a static-ct-api checkpoint for (size, root) signed by
// key under origin: how a log (or one that misbehaves) publishes its tree.
func signCheckpoint(t testing.TB, key crypto.Signer, origin string, size int64, root Hash, tsMillis int64) []byte {
	t.Helper()
	ds, err := tls.Marshal(signSTH(t, key, uint64(size), uint64(tsMillis), root))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sunlight.NewRFC6962InjectedSigner(origin, key.Public(), ds, tsMillis)
	if err != nil {
		t.Fatal(err)
	}
	text := sunlight.FormatCheckpoint(sunlight.Checkpoint{Origin: origin, Tree: tlog.Tree{N: size, Hash: tlog.Hash(root)}})
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func pubPEMKey(t testing.TB, key *ecdsa.PrivateKey) crypto.PublicKey {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
