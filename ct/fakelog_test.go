package ct

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	ctgo "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// fakeRFC6962 is an RFC 6962 log served by httptest: no RFC 6962 log runs in
// the lab (TesseraCT is static-ct-api only), so its responses are built with
// certificate-transparency-go's own types and signed by a test key, in the
// wire format real logs answer with.
type fakeRFC6962 struct {
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
	requests atomic.Int64
}

func newFakeRFC6962(t testing.TB) *fakeRFC6962 {
	f := &fakeRFC6962{t: t, key: newLogKey(t), tree: testonly.New(rfc6962.DefaultHasher), maxBatch: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("/ct/v1/get-sth", f.getSTH)
	mux.HandleFunc("/ct/v1/get-sth-consistency", f.getConsistency)
	mux.HandleFunc("/ct/v1/get-entries", f.getEntries)
	mux.HandleFunc("/ct/v1/get-proof-by-hash", f.getProof)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
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

func (f *fakeRFC6962) config() Config {
	return Config{URL: f.srv.URL, API: APIRFC6962, PublicKey: pubPEMKey(f.t, f.key), BatchSize: 64, Parallel: 4}
}

// add logs chain (leaf first) at timestamp ts (ms) and publishes the new tree.
func (f *fakeRFC6962) add(chain [][]byte, precert bool, ts uint64) {
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

func (f *fakeRFC6962) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Error(err)
	}
}

func (f *fakeRFC6962) getSTH(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := f.key
	if f.sthKey != nil {
		key = f.sthKey
	}
	root := Hash(f.tree.HashAt(f.size))
	sig, err := tls.Marshal(signSTH(f.t, key, f.size, f.ts, root))
	if err != nil {
		f.t.Error(err)
	}
	f.reply(w, ctgo.GetSTHResponse{TreeSize: f.size, Timestamp: f.ts, SHA256RootHash: root[:], TreeHeadSignature: sig})
}

func query(r *http.Request, name string) uint64 {
	v, _ := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	return v
}

func (f *fakeRFC6962) getConsistency(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.tree.ConsistencyProof(query(r, "first"), query(r, "second"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.reply(w, ctgo.GetSTHConsistencyResponse{Consistency: p})
}

func (f *fakeRFC6962) getEntries(w http.ResponseWriter, r *http.Request) {
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

func (f *fakeRFC6962) getProof(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hash, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("hash"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	size := query(r, "tree_size")
	for i := uint64(0); i < size; i++ {
		if Hash(f.tree.LeafHash(i)) == Hash(hash) {
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

// fork replaces the log's history from entry i on with different entries:
// the same size, another tree (a split view).
func (f *fakeRFC6962) fork(i int) {
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
