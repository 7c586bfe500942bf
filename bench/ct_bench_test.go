package bench

import (
	"bufio"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ct"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
)

// benchCTEntries is how many entries the lab log holds for BenchmarkCTRead:
// half precertificates, half certificates, all from the lab CA.
const benchCTEntries = 20000

// ctLog brings the lab's CT log up with at least benchCTEntries entries and
// returns a reader for it, its verified tree, and the lab CA.
func ctLog(b *testing.B) (ct.Log, ct.Tree, *x509.Certificate) {
	lab := labtest.Up(b)
	lab.Run(b, "ct", "up")
	env := map[string]string{}
	f, err := os.Open(filepath.Join(lab.Dir(), "ct", "ct.env"))
	if err != nil {
		b.Fatal(err)
	}
	for s := bufio.NewScanner(f); s.Scan(); {
		if k, v, ok := strings.Cut(s.Text(), "="); ok {
			env[k] = v
		}
	}
	f.Close()
	pemKey, err := os.ReadFile(env["LAB_CT_PUBLIC_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	pub, err := ct.ParsePublicKey(pemKey)
	if err != nil {
		b.Fatal(err)
	}
	l, err := ct.New(ct.Config{URL: env["LAB_CT_READ_URL"], API: ct.APIStatic, PublicKey: pub, Origin: env["LAB_CT_ORIGIN"]})
	if err != nil {
		b.Fatal(err)
	}
	head := func() ct.Tree {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		t, err := l.Head(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	if have := head().Size; have < benchCTEntries {
		// Straight to the log (no CA DB, no OCSP row): only the log matters here.
		lab.Run(b, "ct", "issue", strconv.Itoa(int(benchCTEntries-have+1)/2), "-skip-db", "-skip-ocsp", "-parallel", "200")
	}
	deadline := time.Now().Add(time.Minute)
	tree := head()
	for tree.Size < benchCTEntries && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the log publishes its checkpoint every 500ms
		tree = head()
	}
	ca, err := os.ReadFile(lab.Env["LAB_ISSUER"])
	if err != nil {
		b.Fatal(err)
	}
	return l, tree, mustParseCert(b, ca)
}

// BenchmarkCTRead: entries per second read from the lab's TesseraCT log over
// HTTP (data tiles fetched in parallel, every entry authenticated against the
// checkpoint), filtered by issuer, and the serial of each kept entry parsed:
// what the ct source does per entry. One op reads the whole log from 0.
func BenchmarkCTRead(b *testing.B) {
	l, tree, ca := ctLog(b)
	issuers := ct.NewIssuers([]*x509.Certificate{ca})
	var read, kept int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, err := l.Read(ctx, ct.Position{}, tree, func(e *ct.Entry) error {
			read++
			if _, ok := issuers.Match(e); !ok {
				return nil
			}
			if _, err := e.Serial(); err != nil {
				return err
			}
			kept++
			return nil
		})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if read != int64(b.N)*tree.Size || kept != read {
		b.Fatalf("read %d, kept %d; want %d each", read, kept, int64(b.N)*tree.Size)
	}
	b.ReportMetric(float64(read)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(tree.Size), "entries/op")
}
