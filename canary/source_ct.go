package canary

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/ct"
	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/store"
)

// maxCTFound bounds the certificates one pass of a ct source hands over;
// the rest is read on the next pass, from the position.
const maxCTFound = 10000

// Gauges of a ct source, from its snapshot.
var (
	ctPosition  = target.Desc("ct_log_position", "Index of the next entry this CT source reads.", "source")
	ctTreeSize  = target.Desc("ct_log_tree_size", "Size of the last verified tree of this CT source's log.", "source")
	ctBehind    = target.Desc("ct_log_entries_behind", "Entries of the last verified tree this CT source has not read yet.", "source")
	ctTreeStamp = target.Desc("ct_log_tree_timestamp_seconds", "When the log signed the last verified tree head.", "source")
)

func describeCT(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ctPosition, ctTreeSize, ctBehind, ctTreeStamp} {
		ch <- d
	}
}

// ctMetrics are the ct sources' counters; they live with the domain.
type ctMetrics struct {
	read, matched *prometheus.CounterVec
	errors        *prometheus.CounterVec
}

func newCTMetrics() *ctMetrics {
	return &ctMetrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ct_log_entries_read_total",
			Help: "Entries read from this CT source's log, authenticated against a verified tree."}, []string{"source"}),
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ct_log_entries_matched_total",
			Help: "Entries read from this CT source's log that a configured issuer issued."}, []string{"source"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: target.Namespace, Name: "ct_log_errors_total",
			Help: "Failed reads of this CT source's log by reason; a forked or rewound log is inconsistent."}, []string{"source", "reason"}),
	}
}

func (m *ctMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.read, m.matched, m.errors}
}

func (m *ctMetrics) forget(source string) {
	l := prometheus.Labels{"source": source}
	m.read.DeletePartialMatch(l)
	m.matched.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
}

// CTSource reads a CT log and hands over the certificates and
// precertificates of the configured issuers, with the log's timestamp as
// their publication time: independent of the CA's own records (seed 002).
type CTSource struct {
	name    string
	cfg     config.Source
	log     ct.Log
	issuers *ct.Issuers
	m       *ctMetrics

	st    *store.Store
	logID string // identifies the log a persisted position belongs to

	mu   sync.Mutex
	pos  ct.Position
	have bool // pos is set (after the first Head, loaded, or adopted)
	// unsaved is a position reached but not yet written (see Commit).
	unsaved *ct.Position
	tree    ct.Tree
}

// NewCTSource reads the log of s; issuers are the configured CA
// certificates. It resumes from the position persisted in st for the same
// log, else starts where s.Start says on its first read.
func NewCTSource(s config.Source, issuers []*x509.Certificate, timeout time.Duration, m *ctMetrics, st *store.Store) (*CTSource, error) {
	l, err := ct.New(ct.Config{URL: s.URL, API: ct.API(s.API), PublicKey: s.LogKey, Origin: s.Origin, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(s.LogKey)
	if err != nil {
		return nil, err
	}
	m.read.WithLabelValues(s.Name)
	m.matched.WithLabelValues(s.Name)
	for _, r := range ct.Reasons() {
		m.errors.WithLabelValues(s.Name, r.String())
	}
	c := &CTSource{name: s.Name, cfg: s, log: l, issuers: ct.NewIssuers(issuers), m: m, st: st,
		logID: fmt.Sprintf("%s %s %x", s.API, s.Origin, sha256.Sum256(spki))}
	c.load()
	return c, nil
}

// persistedCT is a ct source's entry in the store's positions bucket. The
// log's identity is kept with it: a name reused for another log starts afresh.
type persistedCT struct {
	Log      string      `json:"log"`
	Position ct.Position `json:"position"`
}

func (c *CTSource) load() {
	_ = c.st.Load(positionBucket, func(k, v []byte) error {
		var p persistedCT
		if string(k) == c.name && json.Unmarshal(v, &p) == nil && p.Log == c.logID {
			c.pos, c.have = p.Position, true
		}
		return nil
	})
}

// save marks p to be written by Commit: only once what was read up to it is
// on disk, so a crash re-reads rather than skips.
func (c *CTSource) save(p ct.Position) {
	c.mu.Lock()
	c.unsaved = &p
	c.mu.Unlock()
}

// Commit writes the position the last Fetch reached.
func (c *CTSource) Commit() {
	c.mu.Lock()
	p := c.unsaved
	c.unsaved = nil
	c.mu.Unlock()
	if p == nil {
		return
	}
	b, err := json.Marshal(persistedCT{Log: c.logID, Position: *p})
	if err == nil {
		_ = c.st.Write(store.Batch{Bucket: positionBucket, Put: map[string][]byte{c.name: b}})
	}
}

var errCTFull = errors.New("enough certificates for one pass")

// Fetch verifies the log's latest tree head, proves it consistent with the
// last verified one, and reads on from the position. It stops with a quarter
// of ctx's time left, so what it read is handed over and the position kept;
// a failure after some progress is counted and retried next pass.
func (c *CTSource) Fetch(ctx context.Context) ([]Found, error) {
	tree, err := c.log.Head(ctx)
	if err != nil {
		return nil, c.fail(err)
	}
	c.mu.Lock()
	pos, have := c.pos, c.have
	c.mu.Unlock()
	if !have {
		// First run: start at the configured place in the current tree.
		if pos, err = c.log.Start(ctx, tree, c.cfg.StartIndex); err != nil {
			return nil, c.fail(err)
		}
	}
	readCtx, cancel := context.WithDeadline(ctx, budget(ctx))
	defer cancel()
	var found []Found
	var read, matched int
	next, err := c.log.Read(readCtx, pos, tree, func(e *ct.Entry) error {
		read++
		issuer, ok := c.issuers.Match(e)
		if !ok {
			return nil
		}
		matched++
		f := Found{Raw: e.Certificate, PublishedAt: e.Timestamp, Provenance: ProvenanceCTLog,
			ID: fmt.Sprintf("%s entry %d", c.name, e.Index)}
		if e.IsPrecert {
			if err := precertMatchesLeaf(e); err != nil {
				c.m.errors.WithLabelValues(c.name, ct.ReasonParse.String()).Inc()
				return nil // not what the tree holds: nothing taken from it
			}
			f.Raw, f.PrecertIssuer = e.PreCertificate, issuer+1
		}
		found = append(found, f)
		if len(found) >= maxCTFound {
			return errCTFull
		}
		return nil
	})
	c.m.read.WithLabelValues(c.name).Add(float64(read))
	c.m.matched.WithLabelValues(c.name).Add(float64(matched))
	moved := next.TreeSize != pos.TreeSize || next.Index != pos.Index || !have
	c.mu.Lock()
	if moved {
		c.pos, c.have = next, true
	}
	if moved || err == nil {
		c.tree = tree
	}
	c.mu.Unlock()
	if moved {
		c.save(next)
	}
	// The pass's own budget running out after progress is not a failure:
	// the rest follows next pass (CertstatusCTSourceBehind if it never catches up).
	budgetSpent := readCtx.Err() != nil && ctx.Err() == nil
	switch {
	case err == nil, errors.Is(err, errCTFull), budgetSpent && next.Index > pos.Index:
		return found, nil
	case next.Index > pos.Index:
		c.fail(err) // counted; the progress is kept and handed over
		return found, nil
	}
	return nil, c.fail(err)
}

// budget is when a read stops: three quarters into ctx's time.
func budget(ctx context.Context) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Minute)
	}
	return time.Now().Add(time.Until(dl) * 3 / 4)
}

func (c *CTSource) fail(err error) error {
	c.m.errors.WithLabelValues(c.name, ct.ReasonOf(err).String()).Inc()
	return err
}

// Close does nothing: HTTP connections are pooled and idle out.
func (c *CTSource) Close() {}

// Position is where the source stands, for persisting; ok is false before
// the first read.
func (c *CTSource) Position() (p ct.Position, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos, c.have
}

// SetPosition resumes from a persisted position instead of start.
func (c *CTSource) SetPosition(p ct.Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos, c.have = p, true
}

func (c *CTSource) collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || c.tree.Size == 0 && c.tree.Timestamp.IsZero() {
		return
	}
	ch <- target.Gauge(ctPosition, float64(c.pos.Index), c.name)
	ch <- target.Gauge(ctTreeSize, float64(c.tree.Size), c.name)
	ch <- target.Gauge(ctBehind, float64(max(c.tree.Size-c.pos.Index, 0)), c.name)
	ch <- target.Gauge(ctTreeStamp, target.Unix(c.tree.Timestamp), c.name)
}

// adoptCTPositions carries the positions of old's ct sources over to c's
// sources reading the same log, so a reload neither skips nor rereads.
func (c *canary) adoptCTPositions(old *canary) {
	if old == nil {
		return
	}
	prev := map[string]*CTSource{}
	for _, s := range old.sources {
		if cs, ok := s.fetch.(*CTSource); ok {
			prev[s.name] = cs
		}
	}
	for _, s := range c.sources {
		cs, ok := s.fetch.(*CTSource)
		if !ok {
			continue
		}
		if p := prev[s.name]; p != nil && p.cfg.URL == cs.cfg.URL && p.cfg.Origin == cs.cfg.Origin {
			if pos, ok := p.Position(); ok {
				cs.SetPosition(pos)
			}
		}
	}
}

// precertMatchesLeaf checks the submitted precertificate (extra data, which
// the Merkle tree does not cover) against the leaf's TBSCertificate (which
// it does): the same serial. The canary tracks a precertificate by serial
// and issuer, so a log or a proxy substituting another one is refused.
func precertMatchesLeaf(e *ct.Entry) error {
	tbs, err := ctx509.ParseTBSCertificate(e.Certificate)
	if err != nil {
		return err
	}
	pre, err := x509.ParseCertificate(e.PreCertificate)
	if err != nil {
		return err
	}
	if tbs.SerialNumber == nil || tbs.SerialNumber.Cmp(pre.SerialNumber) != 0 {
		return errors.New("precertificate serial differs from the logged TBSCertificate's")
	}
	return nil
}
