package ct

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/cttest"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// ctLab is the lab with its CT log (lab/ct.sh) up.
type ctLab struct {
	lab    *labtest.Lab
	env    map[string]string
	issuer *x509.Certificate
}

var (
	ctLabOnce sync.Once
	ctLabErr  string
	theCTLab  *ctLab
)

func upCTLab(t *testing.T) *ctLab {
	t.Helper()
	lab := labtest.Up(t) // skips with -short
	ctLabOnce.Do(func() {
		lab.Run(t, "ct", "up")
		env := map[string]string{}
		f, err := os.Open(filepath.Join(lab.Dir(), "ct", "ct.env"))
		if err != nil {
			ctLabErr = err.Error()
			return
		}
		defer f.Close()
		for s := bufio.NewScanner(f); s.Scan(); {
			if k, v, ok := strings.Cut(s.Text(), "="); ok {
				env[k] = v
			}
		}
		ca, err := readPEMCert(lab.Env["LAB_ISSUER"])
		if err != nil {
			ctLabErr = err.Error()
			return
		}
		theCTLab = &ctLab{lab: lab, env: env, issuer: ca}
	})
	if ctLabErr != "" {
		t.Fatal(ctLabErr)
	}
	return theCTLab
}

func readPEMCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, os.ErrInvalid
	}
	return x509.ParseCertificate(b.Bytes)
}

func (c *ctLab) config(t *testing.T, url string) Config {
	t.Helper()
	raw, err := os.ReadFile(c.env["LAB_CT_PUBLIC_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if url == "" {
		url = c.env["LAB_CT_READ_URL"]
	}
	return Config{URL: url, API: APIStatic, PublicKey: pub, Origin: c.env["LAB_CT_ORIGIN"], Timeout: 10 * time.Second}
}

// logKey is the lab log's signing key: the tests forge checkpoints a
// misbehaving log would sign.
func (c *ctLab) logKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.lab.Dir(), "ct", "log-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	k, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issued is one certificate issued through the log: its serial and the
// SCT timestamps (ms) of its precertificate and certificate.
type issued struct {
	serial        string
	preTS, certTS int64
}

// issue runs lab/ct.sh issue: n certificates, each logged as a
// precertificate and as the final certificate.
func (c *ctLab) issue(t *testing.T, n int, flags ...string) map[string]issued {
	t.Helper()
	out := c.lab.Run(t, append([]string{"ct", "issue", strconv.Itoa(n)}, flags...)...)
	got := map[string]issued{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("ct issue printed %q", line)
		}
		pre, _ := strconv.ParseInt(f[2], 10, 64)
		cert, _ := strconv.ParseInt(f[3], 10, 64)
		got[f[0]] = issued{serial: f[0], preTS: pre, certTS: cert}
	}
	if len(got) != n {
		t.Fatalf("issued %d certificates, want %d", len(got), n)
	}
	return got
}

// waitTree polls the log's checkpoint until it covers size entries.
func waitTree(t *testing.T, l Log, size int64) Tree {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tree, err := l.Head(ctx)
		cancel()
		if err == nil && tree.Size >= size {
			return tree
		}
		if time.Now().After(deadline) {
			t.Fatalf("log did not reach %d entries (last: %d, %v)", size, tree.Size, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serialOf is the entry's certificate serial (decimal, as ct-issue prints).
func serialOf(t *testing.T, e *Entry) string {
	t.Helper()
	s, err := e.Serial()
	if err != nil {
		t.Fatalf("entry %d: %v", e.Index, err)
	}
	return s.String()
}

func read(t *testing.T, l Log, pos Position, tree Tree) (Position, []*Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []*Entry
	pos, err := l.Read(ctx, pos, tree, func(e *Entry) error { got = append(got, e); return nil })
	return pos, got, err
}

// checkEntries: every issued certificate appears exactly once as a
// precertificate and once as a certificate, with the SCT's timestamp, from
// the lab CA, at consecutive indexes from first.
func checkEntries(t *testing.T, c *ctLab, got []*Entry, want map[string]issued, first int64) {
	t.Helper()
	issuers := NewIssuers([]*x509.Certificate{c.issuer})
	seen := map[string]int{}
	for i, e := range got {
		if e.Index != first+int64(i) {
			t.Fatalf("entry %d has index %d, want %d (a gap or a repeat)", i, e.Index, first+int64(i))
		}
		if _, ok := issuers.Match(e); !ok {
			t.Fatalf("entry %d not matched to the lab CA", e.Index)
		}
		s := serialOf(t, e)
		w, ok := want[s]
		if !ok {
			t.Fatalf("entry %d: serial %s was not issued by this test", e.Index, s)
		}
		ts := w.certTS
		kind := 1
		if e.IsPrecert {
			ts, kind = w.preTS, 2
		}
		if e.Timestamp.UnixMilli() != ts {
			t.Fatalf("entry %d (%s, precert %v): timestamp %d, SCT said %d", e.Index, s, e.IsPrecert, e.Timestamp.UnixMilli(), ts)
		}
		seen[s] |= kind
	}
	for s := range want {
		if seen[s] != 3 {
			t.Fatalf("serial %s: seen %b (1 = certificate, 2 = precertificate), want both", s, seen[s])
		}
	}
}

func TestLabTailsCertificatesAndPrecertificates(t *testing.T) {
	c := upCTLab(t)
	l := newLog(t, c.config(t, ""))
	start := waitTree(t, l, 0)
	pos, err := l.Start(context.Background(), start, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := c.issue(t, 300)
	tree := waitTree(t, l, pos.Index+600)
	pos, got, err := read(t, l, pos, tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 || pos.Index != start.Size+600 {
		t.Fatalf("read %d entries to %d, want 600 to %d", len(got), pos.Index, start.Size+600)
	}
	checkEntries(t, c, got, want, start.Size)
}

// The log and its read path down (and the reader restarted meanwhile, its
// position persisted as JSON): once the log is back nothing is missed.
func TestLabOutageAndRestartMissNothing(t *testing.T) {
	c := upCTLab(t)
	l := newLog(t, c.config(t, ""))
	pos, err := l.Start(context.Background(), waitTree(t, l, 0), -1)
	if err != nil {
		t.Fatal(err)
	}
	first := pos.Index
	want := c.issue(t, 20)
	pos, got, err := read(t, l, pos, waitTree(t, l, pos.Index+40))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := json.Marshal(pos)
	if err != nil {
		t.Fatal(err)
	}

	c.lab.Run(t, "ct", "down")
	t.Cleanup(func() { c.lab.Run(t, "ct", "up") }) // for the next test, should this one fail
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = l.Head(ctx)
	cancel()
	if ReasonOf(err) != ReasonFetch {
		t.Fatalf("log down: err %v (%v), want fetch", err, ReasonOf(err))
	}
	c.lab.Run(t, "ct", "up")
	for s, i := range c.issue(t, 25) {
		want[s] = i
	}

	var resumed Position
	if err := json.Unmarshal(saved, &resumed); err != nil {
		t.Fatal(err)
	}
	l2 := newLog(t, c.config(t, ""))
	_, more, err := read(t, l2, resumed, waitTree(t, l2, resumed.Index+50))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, c, append(got, more...), want, first)
}

// tamperer stands in front of the real read path and can replace its
// checkpoint; tiles come from the real log.
type tamperer struct {
	srv        *httptest.Server
	checkpoint atomic.Pointer[[]byte]
	// pushback answers this many tile requests with 429 + Retry-After: 1.
	pushback atomic.Int32
	// stall holds tile requests until the client gives up (a slow log).
	stall atomic.Bool
}

func newTamperer(t *testing.T, c *ctLab) *tamperer {
	t.Helper()
	u, err := url.Parse(c.env["LAB_CT_READ_URL"])
	if err != nil {
		t.Fatal(err)
	}
	tp := &tamperer{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cp := tp.checkpoint.Load(); cp != nil && r.URL.Path == "/checkpoint" {
			_, _ = w.Write(*cp)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/tile/") && tp.stall.Load() {
			<-r.Context().Done()
			return
		}
		if strings.HasPrefix(r.URL.Path, "/tile/") && tp.pushback.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *tamperer) serve(cp []byte) { tp.checkpoint.Store(&cp) }

func TestLabRefusesBadCheckpoints(t *testing.T) {
	c := upCTLab(t)
	tp := newTamperer(t, c)
	l := newLog(t, c.config(t, tp.srv.URL+"/"))
	origin := c.env["LAB_CT_ORIGIN"]
	key := c.logKey(t)

	c.issue(t, 5)
	pos, err := l.Start(context.Background(), waitTree(t, l, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	pos, _, err = read(t, l, pos, waitTree(t, l, pos.TreeSize))
	if err != nil {
		t.Fatal(err)
	}
	want := c.issue(t, 10)
	real := waitTree(t, l, pos.Index+20)
	now := time.Now().UnixMilli()

	var forged Hash
	if _, err := rand.Read(forged[:]); err != nil {
		t.Fatal(err)
	}
	refuse := func(name string, cp []byte, reason Reason) {
		t.Helper()
		tp.serve(cp)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var got []*Entry
		tree, err := l.Head(ctx)
		after := pos
		if err == nil {
			after, err = l.Read(ctx, pos, tree, func(e *Entry) error { got = append(got, e); return nil })
		}
		if ReasonOf(err) != reason || len(got) != 0 || after.Index != pos.Index || after.TreeSize != pos.TreeSize {
			t.Fatalf("%s: err %v (%v), %d entries, position %d/%d; want %v, none taken, position unchanged",
				name, err, ReasonOf(err), len(got), after.Index, after.TreeSize, reason)
		}
	}
	refuse("signed by another key", cttest.SignCheckpoint(t, cttest.NewLogKey(t), origin, real.Size, real.Hash, now), ReasonBadSignature)
	refuse("another origin", cttest.SignCheckpoint(t, key, origin+"-other", real.Size, real.Hash, now), ReasonBadSignature)
	refuse("tree not extending the verified one", cttest.SignCheckpoint(t, key, origin, real.Size, forged, now), ReasonInconsistent)
	refuse("fork at the verified size", cttest.SignCheckpoint(t, key, origin, pos.TreeSize, forged, now), ReasonInconsistent)
	refuse("rewound", cttest.SignCheckpoint(t, key, origin, pos.TreeSize-1, forged, now), ReasonInconsistent)

	// The honest checkpoint again: everything since the position, once.
	tp.checkpoint.Store(nil)
	_, got, err := read(t, l, pos, waitTree(t, l, real.Size))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, c, got[:20], want, pos.Index)
}

// A log pushing back (429 + Retry-After) is waited for; one that never stops
// is counted rate_limited once the call's deadline passes.
func TestLabBacksOffOnPushback(t *testing.T) {
	c := upCTLab(t)
	tp := newTamperer(t, c)
	l := newLog(t, c.config(t, tp.srv.URL+"/"))
	before := waitTree(t, l, 0)
	want := c.issue(t, 3)
	tree := waitTree(t, l, before.Size+6)
	pos, err := l.Start(context.Background(), tree, before.Size)
	if err != nil {
		t.Fatal(err)
	}
	tp.pushback.Store(2)
	_, got, err := read(t, l, pos, tree)
	if err != nil {
		t.Fatalf("after two 429s: %v", err)
	}
	checkEntries(t, c, got, want, pos.Index)

	tp.pushback.Store(1 << 30)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = l.Read(ctx, pos, tree, func(*Entry) error { return nil })
	if ReasonOf(err) != ReasonRateLimited {
		t.Fatalf("err %v (%v), want rate_limited", err, ReasonOf(err))
	}
}

// A log whose tiles do not come in time: each request times out and the
// read ends with the call's deadline as a timeout, not a fetch failure.
func TestLabSlowLogIsTimeout(t *testing.T) {
	c := upCTLab(t)
	tp := newTamperer(t, c)
	cfg := c.config(t, tp.srv.URL+"/")
	cfg.Timeout = 500 * time.Millisecond
	l := newLog(t, cfg)
	before := waitTree(t, l, 0)
	c.issue(t, 2)
	tree := waitTree(t, l, before.Size+4)
	pos, err := l.Start(context.Background(), tree, before.Size)
	if err != nil {
		t.Fatal(err)
	}
	tp.stall.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	after, err := l.Read(ctx, pos, tree, func(*Entry) error { return nil })
	if ReasonOf(err) != ReasonTimeout || after.Index != pos.Index {
		t.Fatalf("err %v (%v), index %d; want timeout at %d", err, ReasonOf(err), after.Index, pos.Index)
	}
}
