package ct

import (
	"context"
	"errors"
	"fmt"
	"time"

	"filippo.io/sunlight"
	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// staticLog reads a c2sp.org/static-ct-api log with sunlight's client, which
// fetches data tiles in parallel and authenticates every entry against the
// tree it is given.
type staticLog struct {
	cfg      Config
	client   *sunlight.Client
	rec      *recorder
	verifier note.Verifier
}

func newStatic(cfg Config) (*staticLog, error) {
	hc, rec := newHTTPClient(cfg.Timeout, cfg.Parallel, cfg.Transport)
	c, err := sunlight.NewClient(&sunlight.ClientConfig{MonitoringPrefix: cfg.URL, PublicKey: cfg.PublicKey,
		HTTPClient: hc, UserAgent: UserAgent, Timeout: cfg.Timeout, ConcurrencyLimit: cfg.Parallel})
	if err != nil {
		return nil, fmt.Errorf("ct: %w", err)
	}
	// sunlight's own Checkpoint() trusts whatever origin the log names; this
	// verifier is bound to the configured one, so a checkpoint under another
	// name is refused like a bad signature.
	v, err := sunlight.NewRFC6962Verifier(cfg.Origin, cfg.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ct: %w", err)
	}
	return &staticLog{cfg: cfg, client: c, rec: rec, verifier: v}, nil
}

func (l *staticLog) Head(ctx context.Context) (Tree, error) {
	failures := l.rec.failures.Load()
	raw, err := l.client.TileReader().ReadEndpoint(ctx, "checkpoint")
	if err != nil {
		return Tree{}, fetchError(ctx, l.rec, failures, "checkpoint", err)
	}
	n, err := note.Open(raw, note.VerifierList(l.verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Tree{}, errorf(ReasonBadSignature, "checkpoint not signed by the configured key as %q: %v", l.cfg.Origin, err)
		}
		return Tree{}, errorf(ReasonParse, "checkpoint: %v", err)
	}
	cp, err := torchwood.ParseCheckpoint(n.Text)
	if err != nil {
		return Tree{}, errorf(ReasonParse, "checkpoint: %v", err)
	}
	if cp.Origin != l.cfg.Origin {
		return Tree{}, errorf(ReasonBadSignature, "checkpoint origin %q, configured %q", cp.Origin, l.cfg.Origin)
	}
	ms, err := sunlight.RFC6962SignatureTimestamp(n.Sigs[0])
	if err != nil {
		return Tree{}, errorf(ReasonParse, "checkpoint signature timestamp: %v", err)
	}
	return Tree{Size: cp.N, Hash: Hash(cp.Hash), Timestamp: time.UnixMilli(ms)}, nil
}

func (l *staticLog) Start(_ context.Context, tree Tree, index int64) (Position, error) {
	if index < 0 || index > tree.Size {
		index = tree.Size
	}
	return Position{Index: index, TreeSize: tree.Size, RootHash: tree.Hash}, nil
}

func (l *staticLog) Read(ctx context.Context, pos Position, tree Tree, fn func(*Entry) error) (Position, error) {
	if err := l.consistent(ctx, pos, tree); err != nil {
		return pos, err
	}
	next := Position{Index: pos.Index, TreeSize: tree.Size, RootHash: tree.Hash}
	t := tlog.Tree{N: tree.Size, Hash: tlog.Hash(tree.Hash)}
	// Entries stops before a trailing partial tile when it started below it;
	// the second round reads that partial tile.
	for next.Index < tree.Size {
		before := next.Index
		failures := l.rec.failures.Load()
		for i, le := range l.client.Entries(ctx, t, next.Index) {
			if !le.RFC6962ArchivalLeaf && le.LeafIndex != i {
				return next, errorf(ReasonInconsistent, "entry %d says it is leaf %d", i, le.LeafIndex)
			}
			if err := fn(staticEntry(i, le)); err != nil {
				return next, err
			}
			next.Index = i + 1
		}
		if err := l.client.Err(); err != nil {
			return next, l.entriesError(ctx, failures, err)
		}
		if next.Index == before {
			return next, errorf(ReasonFetch, "no entries from %d in a tree of %d", before, tree.Size)
		}
	}
	return next, nil
}

// entriesError classifies a failed read. A read with no failed request and no
// deadline failed because the tiles do not authenticate against the signed
// tree: whether they fail to decode or to hash, the log served data its tree
// head does not commit to.
func (l *staticLog) entriesError(ctx context.Context, failuresBefore int64, err error) error {
	if ctx.Err() != nil || isTimeout(err) || l.rec.failures.Load() > failuresBefore {
		return fetchError(ctx, l.rec, failuresBefore, "tiles", err)
	}
	return errorf(ReasonInconsistent, "tiles: %v", err)
}

// consistent proves tree extends the verified tree of pos (RFC 6962 2.1.2,
// with tlog's proof over the log's hash tiles).
func (l *staticLog) consistent(ctx context.Context, pos Position, tree Tree) error {
	if settled, err := withoutProof(pos, tree); settled {
		return err
	}
	failures := l.rec.failures.Load()
	hr := torchwood.TileHashReaderWithContext(ctx, tlog.Tree{N: tree.Size, Hash: tlog.Hash(tree.Hash)}, l.client.TileReader())
	proof, err := tlog.ProveTree(tree.Size, pos.TreeSize, hr)
	if err != nil {
		return l.entriesError(ctx, failures, fmt.Errorf("consistency %d -> %d: %w", pos.TreeSize, tree.Size, err))
	}
	if err := tlog.CheckTree(proof, tree.Size, tlog.Hash(tree.Hash), pos.TreeSize, tlog.Hash(pos.RootHash)); err != nil {
		return errorf(ReasonInconsistent, "tree %d is not consistent with verified tree %d: %v", tree.Size, pos.TreeSize, err)
	}
	return nil
}

func staticEntry(i int64, le *sunlight.LogEntry) *Entry {
	e := &Entry{Index: i, Timestamp: time.UnixMilli(le.Timestamp), Certificate: le.Certificate,
		IsPrecert: le.IsPrecert, PreCertificate: le.PreCertificate, IssuerKeyHash: le.IssuerKeyHash}
	if len(le.ChainFingerprints) > 0 {
		e.Issuer = le.ChainFingerprints[0]
	}
	return e
}
