// Package cttest serves CT logs for tests: an RFC 6962 log built with
// certificate-transparency-go's own types and signed by a test key (no RFC
// 6962 log runs in the lab; TesseraCT is static-ct-api only), and signed tree
// heads and checkpoints, as a log (or one that misbehaves) would publish them.
package cttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/sunlight"
	ctgo "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func hash32(b []byte) [32]byte {
	var h [32]byte
	copy(h[:], b)
	return h
}

// NewLogKey is a fresh ECDSA P-256 log key.
func NewLogKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// SignSTH signs a tree head the way an RFC 6962 log does (a TLS
// DigitallySigned over the TreeHeadSignature input).
func SignSTH(t testing.TB, key crypto.Signer, size, ts uint64, root [32]byte) ctgo.DigitallySigned {
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

// SignCheckpoint is a static-ct-api checkpoint for (size, root) signed by
// key under origin: how a log (or one that misbehaves) publishes its tree.
func SignCheckpoint(t testing.TB, key crypto.Signer, origin string, size int64, root [32]byte, tsMillis int64) []byte {
	t.Helper()
	ds, err := tls.Marshal(SignSTH(t, key, uint64(size), uint64(tsMillis), root))
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

// PublicKey is key's public half, as a log list publishes it (parsed from PKIX).
func PublicKey(t testing.TB, key *ecdsa.PrivateKey) crypto.PublicKey {
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

// FakeRFC6962 is an RFC 6962 log served by httptest: no RFC 6962 log runs in
// the lab (TesseraCT is static-ct-api only), so its responses are built with
// certificate-transparency-go's own types and signed by a test key, in the
// wire format real logs answer with.
type FakeRFC6962 struct {
	t        testing.TB
	key      *ecdsa.PrivateKey
	srv      *httptest.Server
	maxBatch int // get-entries answers at most this many, like real logs

	mu     sync.Mutex
	tree   *testonly.Tree
	leaves []ctgo.LeafEntry
	size   uint64 // the published tree size
	ts     uint64
	// sthKey signs the STH when set (a log signing with the wrong key).
	sthKey *ecdsa.PrivateKey
	// pushback answers this many requests with 429 + Retry-After: 1.
	pushback atomic.Int32
	// stall makes every request wait until the client gives up (a slow log).
	stall    atomic.Bool
	requests atomic.Int64
}

// NewFakeRFC6962 starts an empty log; it stops with the test.
func NewFakeRFC6962(t testing.TB) *FakeRFC6962 {
	f := &FakeRFC6962{t: t, key: NewLogKey(t), tree: testonly.New(rfc6962.DefaultHasher), maxBatch: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("/ct/v1/get-sth", f.getSTH)
	mux.HandleFunc("/ct/v1/get-sth-consistency", f.getConsistency)
	mux.HandleFunc("/ct/v1/get-entries", f.getEntries)
	mux.HandleFunc("/ct/v1/get-proof-by-hash", f.getProof)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if f.stall.Load() {
			<-r.Context().Done()
			return
		}
		if f.pushback.Load() > 0 {
			f.pushback.Add(-1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the log's base URL.
func (f *FakeRFC6962) URL() string { return f.srv.URL }

// Key is the log's signing key.
func (f *FakeRFC6962) Key() *ecdsa.PrivateKey { return f.key }

// SetSTHKey makes the log sign its tree heads with k instead (nil: its own).
func (f *FakeRFC6962) SetSTHKey(k *ecdsa.PrivateKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sthKey = k
}

// Stall makes the log answer nothing until each client gives up (true), or
// answer again (false).
func (f *FakeRFC6962) Stall(on bool) { f.stall.Store(on) }

// Pushback answers the next n requests with 429 + Retry-After: 1.
func (f *FakeRFC6962) Pushback(n int32) { f.pushback.Store(n) }

// Publish makes the log publish a tree head of size n (a smaller one: rewound).
func (f *FakeRFC6962) Publish(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.size = n
}

// SwapEntries serves entries i and j in each other's place: entries the
// signed tree does not hold there.
func (f *FakeRFC6962) SwapEntries(i, j int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leaves[i], f.leaves[j] = f.leaves[j], f.leaves[i]
}

// Add logs chain (leaf first) at timestamp ts (ms) and publishes the new tree.
func (f *FakeRFC6962) Add(chain [][]byte, precert bool, ts uint64) {
	f.t.Helper()
	raw := make([]ctgo.ASN1Cert, len(chain))
	for i, c := range chain {
		raw[i] = ctgo.ASN1Cert{Data: c}
	}
	typ := ctgo.X509LogEntryType
	if precert {
		typ = ctgo.PrecertLogEntryType
	}
	leaf, err := ctgo.MerkleTreeLeafFromRawChain(raw, typ, ts)
	if err != nil {
		f.t.Fatal(err)
	}
	input, err := tls.Marshal(*leaf)
	if err != nil {
		f.t.Fatal(err)
	}
	var extra []byte
	if precert {
		extra, err = tls.Marshal(ctgo.PrecertChainEntry{PreCertificate: raw[0], CertificateChain: raw[1:]})
	} else {
		extra, err = tls.Marshal(ctgo.CertificateChain{Entries: raw[1:]})
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leaves = append(f.leaves, ctgo.LeafEntry{LeafInput: input, ExtraData: extra})
	f.tree.AppendData(input)
	f.size, f.ts = f.tree.Size(), ts
}

func (f *FakeRFC6962) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Error(err)
	}
}

func (f *FakeRFC6962) getSTH(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := f.key
	if f.sthKey != nil {
		key = f.sthKey
	}
	root := hash32(f.tree.HashAt(f.size))
	sig, err := tls.Marshal(SignSTH(f.t, key, f.size, f.ts, root))
	if err != nil {
		f.t.Error(err)
	}
	f.reply(w, ctgo.GetSTHResponse{TreeSize: f.size, Timestamp: f.ts, SHA256RootHash: root[:], TreeHeadSignature: sig})
}

func query(r *http.Request, name string) uint64 {
	v, _ := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	return v
}

func (f *FakeRFC6962) getConsistency(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.tree.ConsistencyProof(query(r, "first"), query(r, "second"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.reply(w, ctgo.GetSTHConsistencyResponse{Consistency: p})
}

func (f *FakeRFC6962) getEntries(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start, end := query(r, "start"), query(r, "end")
	if end >= f.size {
		end = f.size - 1
	}
	if start > end {
		http.Error(w, "bad range", http.StatusBadRequest)
		return
	}
	end = min(end, start+uint64(f.maxBatch)-1)
	f.reply(w, ctgo.GetEntriesResponse{Entries: f.leaves[start : end+1]})
}

func (f *FakeRFC6962) getProof(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hash, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("hash"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	size := query(r, "tree_size")
	for i := uint64(0); i < size; i++ {
		if hash32(f.tree.LeafHash(i)) == hash32(hash) {
			p, err := f.tree.InclusionProof(i, size)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.reply(w, ctgo.GetProofByHashResponse{LeafIndex: int64(i), AuditPath: p})
			return
		}
	}
	http.NotFound(w, r)
}

// Fork replaces the log's history from entry i on with different entries:
// the same size, another tree (a split view).
func (f *FakeRFC6962) Fork(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.leaves
	f.leaves = nil
	f.tree = testonly.New(rfc6962.DefaultHasher)
	for j, l := range old {
		if j >= i {
			h := sha256.Sum256(l.LeafInput)
			l.ExtraData = append([]byte(nil), l.ExtraData...)
			// Another leaf with the same shape: flip the last byte of the
			// certificate (inside LeafInput) so its hash differs.
			l.LeafInput = append([]byte(nil), l.LeafInput...)
			l.LeafInput[len(l.LeafInput)-3] ^= h[0] | 1
		}
		f.leaves = append(f.leaves, l)
		f.tree.AppendData(l.LeafInput)
	}
}
