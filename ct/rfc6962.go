package ct

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	ctgo "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/jsonclient"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/sync/errgroup"
)

// rfcLog reads an RFC 6962 log with certificate-transparency-go's client.
// Signatures are checked here rather than by the client so that a bad one
// gets its own reason.
type rfcLog struct {
	cfg      Config
	lc       *client.LogClient
	rec      *recorder
	verifier *ctgo.SignatureVerifier
}

func newRFC6962(cfg Config) (*rfcLog, error) {
	hc, rec := newHTTPClient(cfg.Timeout, cfg.Parallel, cfg.Transport)
	lc, err := client.New(strings.TrimSuffix(cfg.URL, "/"), hc, jsonclient.Options{UserAgent: UserAgent, Logger: quiet{}})
	if err != nil {
		return nil, fmt.Errorf("ct: %w", err)
	}
	v, err := ctgo.NewSignatureVerifier(cfg.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ct: %w", err)
	}
	return &rfcLog{cfg: cfg, lc: lc, rec: rec, verifier: v}, nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// do runs one request, backing off while the log pushes back (429/503) or
// is too slow to answer within Timeout, until ctx ends (as the static
// client does for its tiles).
func (l *rfcLog) do(ctx context.Context, what string, f func() error) error {
	wait := time.Second
	failures := l.rec.failures.Load()
	for {
		timeouts := l.rec.timeouts.Load()
		err := f()
		if err == nil {
			return nil
		}
		var rsp jsonclient.RspError
		isRsp := errors.As(err, &rsp)
		if isRsp && rsp.StatusCode == 200 {
			return errorf(ReasonParse, "%s: %v", what, err)
		}
		slow := l.rec.timeouts.Load() > timeouts && ctx.Err() == nil
		if !slow && (!isRsp || !pushback(rsp.StatusCode)) {
			return fetchError(ctx, l.rec, failures, what, err)
		}
		t := time.NewTimer(l.rec.wait(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return fetchError(ctx, l.rec, failures, what, err)
		case <-t.C:
		}
		wait = min(2*wait, time.Minute)
	}
}

func (l *rfcLog) Head(ctx context.Context) (Tree, error) {
	var resp ctgo.GetSTHResponse
	if err := l.do(ctx, "get-sth", func() error {
		_, _, err := l.lc.GetAndParse(ctx, ctgo.GetSTHPath, nil, &resp)
		return err
	}); err != nil {
		return Tree{}, err
	}
	sth, err := resp.ToSignedTreeHead()
	if err != nil {
		return Tree{}, errorf(ReasonParse, "get-sth: %v", err)
	}
	if err := l.verifier.VerifySTHSignature(*sth); err != nil {
		return Tree{}, errorf(ReasonBadSignature, "STH of size %d: %v", sth.TreeSize, err)
	}
	return Tree{Size: int64(sth.TreeSize), Hash: Hash(sth.SHA256RootHash), Timestamp: time.UnixMilli(int64(sth.Timestamp))}, nil
}

// Start needs the frontier at index: it is built from entry index-1 and its
// audit path, and its root proven to be a prefix of tree.
func (l *rfcLog) Start(ctx context.Context, tree Tree, index int64) (Position, error) {
	if index < 0 || index > tree.Size {
		index = tree.Size
	}
	pos := Position{Index: index, TreeSize: tree.Size, RootHash: tree.Hash}
	if index == 0 {
		return pos, nil
	}
	leaves, err := l.getEntries(ctx, index-1, index)
	if err != nil {
		return pos, err
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf(leaves[0].LeafInput)
	var resp *ctgo.GetProofByHashResponse
	if err := l.do(ctx, "get-proof-by-hash", func() (err error) {
		resp, err = l.lc.GetProofByHash(ctx, leafHash, uint64(index))
		return err
	}); err != nil {
		return pos, err
	}
	if resp.LeafIndex != index-1 {
		return pos, errorf(ReasonInconsistent, "entry %d has audit path for index %d", index-1, resp.LeafIndex)
	}
	hashes, err := frontierFromProof(leafHash, resp.AuditPath, uint64(index))
	if err != nil {
		return pos, errorf(ReasonParse, "%v", err)
	}
	r, err := rangeFactory().NewRange(0, uint64(index), hashes)
	if err != nil {
		return pos, errorf(ReasonParse, "%v", err)
	}
	if err := l.proveRoot(ctx, r, tree); err != nil {
		return pos, err
	}
	pos.Frontier = toHashes(hashes)
	return pos, nil
}

// proveRoot proves that the entries of r (a range from 0) are the first
// entries of tree: its root is tree's, or a consistency proof links them.
func (l *rfcLog) proveRoot(ctx context.Context, r *compact.Range, tree Tree) error {
	root, err := r.GetRootHash(nil)
	if err != nil {
		return errorf(ReasonParse, "%v", err)
	}
	size := int64(r.End())
	if size == tree.Size {
		if Hash(root) != tree.Hash {
			return errorf(ReasonInconsistent, "entries up to %d do not hash to the signed root", size)
		}
		return nil
	}
	return l.proveConsistency(ctx, size, Hash(root), tree)
}

func (l *rfcLog) proveConsistency(ctx context.Context, size int64, root Hash, tree Tree) error {
	if size == 0 {
		return nil
	}
	var p [][]byte
	if err := l.do(ctx, "get-sth-consistency", func() (err error) {
		p, err = l.lc.GetSTHConsistency(ctx, uint64(size), uint64(tree.Size))
		return err
	}); err != nil {
		return err
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(size), uint64(tree.Size), p, root[:], tree.Hash[:]); err != nil {
		return errorf(ReasonInconsistent, "tree %d is not consistent with tree %d: %v", tree.Size, size, err)
	}
	return nil
}

func (l *rfcLog) consistent(ctx context.Context, pos Position, tree Tree) error {
	if settled, err := withoutProof(pos, tree); settled {
		return err
	}
	return l.proveConsistency(ctx, pos.TreeSize, pos.RootHash, tree)
}

// Read reads in chunks of Parallel x BatchSize entries; a chunk is passed on
// only once the frontier extended by it is proven part of tree.
func (l *rfcLog) Read(ctx context.Context, pos Position, tree Tree, fn func(*Entry) error) (Position, error) {
	if err := l.consistent(ctx, pos, tree); err != nil {
		return pos, err
	}
	r, err := rangeOf(pos)
	if err != nil {
		return pos, errorf(ReasonParse, "%v", err)
	}
	next := pos
	next.TreeSize, next.RootHash = tree.Size, tree.Hash
	chunk := int64(l.cfg.Parallel * l.cfg.BatchSize)
	for next.Index < tree.Size {
		end := min(next.Index+chunk, tree.Size)
		leaves, err := l.getEntries(ctx, next.Index, end)
		if err != nil {
			return next, err
		}
		grown, err := rangeFactory().NewRange(0, r.End(), r.Hashes())
		if err != nil {
			return next, errorf(ReasonParse, "%v", err)
		}
		for i := range leaves {
			if err := grown.Append(rfc6962.DefaultHasher.HashLeaf(leaves[i].LeafInput), nil); err != nil {
				return next, errorf(ReasonParse, "%v", err)
			}
		}
		if err := l.proveRoot(ctx, grown, tree); err != nil {
			return next, err
		}
		for i := range leaves {
			e, err := rfcEntry(next.Index, &leaves[i])
			if err != nil {
				return next, err
			}
			if err := fn(e); err != nil {
				return next, err
			}
			// Advance the frontier entry by entry so a caller stopping midway
			// gets a position that resumes exactly after what it took.
			if err := r.Append(rfc6962.DefaultHasher.HashLeaf(leaves[i].LeafInput), nil); err != nil {
				return next, errorf(ReasonParse, "%v", err)
			}
			next.Index++
			next.Frontier = toHashes(r.Hashes())
		}
	}
	return next, nil
}

// getEntries fetches [start, end) with up to Parallel get-entries requests at
// once; a log may answer a request with fewer entries than asked.
func (l *rfcLog) getEntries(ctx context.Context, start, end int64) ([]ctgo.LeafEntry, error) {
	batch := int64(l.cfg.BatchSize)
	parts := make([][]ctgo.LeafEntry, (end-start+batch-1)/batch)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.cfg.Parallel)
	for p := range parts {
		from := start + int64(p)*batch
		to := min(from+batch, end)
		g.Go(func() error {
			for from < to {
				var resp *ctgo.GetEntriesResponse
				if err := l.do(gctx, "get-entries", func() (err error) {
					resp, err = l.lc.GetRawEntries(gctx, from, to-1)
					return err
				}); err != nil {
					return err
				}
				if len(resp.Entries) == 0 {
					return errorf(ReasonFetch, "get-entries %d-%d: no entries", from, to-1)
				}
				n := min(int64(len(resp.Entries)), to-from)
				parts[p] = append(parts[p], resp.Entries[:n]...)
				from += n
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]ctgo.LeafEntry, 0, end-start)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

func rfcEntry(index int64, leaf *ctgo.LeafEntry) (*Entry, error) {
	raw, err := ctgo.RawLogEntryFromLeaf(index, leaf)
	if err != nil {
		return nil, errorf(ReasonParse, "entry %d: %v", index, err)
	}
	te := raw.Leaf.TimestampedEntry
	if te == nil {
		return nil, errorf(ReasonParse, "entry %d: no timestamped entry", index)
	}
	e := &Entry{Index: index, Timestamp: time.UnixMilli(int64(te.Timestamp))}
	switch te.EntryType {
	case ctgo.X509LogEntryType:
		e.Certificate = te.X509Entry.Data
	case ctgo.PrecertLogEntryType:
		e.IsPrecert = true
		e.Certificate = te.PrecertEntry.TBSCertificate
		e.IssuerKeyHash = te.PrecertEntry.IssuerKeyHash
		e.PreCertificate = raw.Cert.Data
	default:
		return nil, errorf(ReasonParse, "entry %d: unknown type %v", index, te.EntryType)
	}
	if len(raw.Chain) > 0 {
		e.Issuer = sha256.Sum256(raw.Chain[0].Data)
	}
	return e, nil
}
