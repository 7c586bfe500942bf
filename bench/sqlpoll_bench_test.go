package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/store"
)

const (
	// sqlWindowCerts certificates are in the tracked hour; sqlNewPerPoll
	// more are issued between two polls.
	sqlWindowCerts = 100_000
	sqlNewPerPoll  = 100
	// sqlPollInterval is ocsp.interval's default: the new rows of a poll
	// were issued over this long.
	sqlPollInterval = 15 * time.Second
	// sqlQueryBefore reads the whole window at every poll (the old way);
	// sqlQueryAfter is the incremental query of README.md, with the index
	// sqlIndex on issued_at.
	sqlQueryBefore = "SELECT pem, issued_at FROM certificates WHERE issued_at > now() - interval '1 hour'"
	sqlQueryAfter  = "SELECT pem, issued_at FROM certificates WHERE issued_at > $1 ORDER BY issued_at LIMIT 10000"
	sqlIndex       = "CREATE INDEX IF NOT EXISTS certificates_issued_at ON certificates (issued_at)"
	// sqlMaxTracked is ocsp.max_tracked's default: the source's seen-set size.
	sqlMaxTracked = 200_000
)

// sqlCA signs the benchmark's certificates: real X.509, one per serial,
// with the extensions a public TLS certificate carries (no SCTs).
type sqlCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	leafKey *ecdsa.PrivateKey
	mu      sync.Mutex
	serial  int       // next serial
	last    time.Time // issued_at of the newest row inserted
}

func newSQLCA(b *testing.B) *sqlCA {
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ca, key := selfSignedCA(b, "sqlbench issuing CA")
	return &sqlCA{cert: ca, key: key, leafKey: leafKey}
}

// issue signs n distinct certificates.
func (ca *sqlCA) issue(b *testing.B, n int) []*x509.Certificate {
	ca.mu.Lock()
	first := ca.serial
	ca.serial += n
	ca.mu.Unlock()
	out := make([]*x509.Certificate, n)
	now := time.Now()
	inParallel(b, n, 2, func(i int) error { // the machine's two cores
		name := fmt.Sprintf("sqlbench-%d.lab.example", first+i)
		tmpl := &x509.Certificate{SerialNumber: probesSerial(first + i), Subject: pkix.Name{CommonName: name},
			DNSNames: []string{name, "www." + name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true, OCSPServer: []string{"http://ocsp.lab.example/"},
			IssuingCertificateURL: []string{"http://ca.lab.example/ca.crt"},
			CRLDistributionPoints: []string{"http://crl.lab.example/0.crl"},
			Policies:              []x509.OID{mustOID(b, "2.23.140.1.2.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &ca.leafKey.PublicKey, ca.key)
		if err == nil {
			out[i], err = x509.ParseCertificate(der)
		}
		return err
	})
	return out
}

func mustOID(b *testing.B, s string) x509.OID {
	oid, err := x509.ParseOID(s)
	if err != nil {
		b.Fatal(err)
	}
	return oid
}

// insert writes certs into cfssl's certdb as cfssl does (PEM in the pem
// column), with issued_at at the given times; it returns their DER bytes.
func (ca *sqlCA) insert(b *testing.B, ctx context.Context, conn *pgx.Conn, label string, certs []*x509.Certificate, at func(i int) time.Time) int {
	rows := make([][]any, len(certs))
	der := 0
	for i, c := range certs {
		der += len(c.Raw)
		// cfssl keys on the decimal serial and the hex AKI; reason 0 and a
		// zero revoked_at as cfssl writes them.
		rows[i] = []any{[]byte(c.SerialNumber.String()), []byte(hex.EncodeToString(c.AuthorityKeyId)), []byte(label), []byte("good"), 0,
			time.Time{}, c.NotAfter, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), at(i), c.NotBefore}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"certificates"},
		[]string{"serial_number", "authority_key_identifier", "ca_label", "status", "reason", "revoked_at", "expiry", "pem", "issued_at", "not_before"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	return der
}

// issueNew inserts sqlNewPerPoll new certificates issued over one poll
// interval after every row already in the table (as a CA issuing steadily
// between two polls: what the source's lookback re-reads depends on it),
// and returns their DER bytes.
func (ca *sqlCA) issueNew(b *testing.B, ctx context.Context, conn *pgx.Conn) int {
	certs := ca.issue(b, sqlNewPerPoll)
	start := time.Now().Truncate(time.Microsecond)
	if !start.After(ca.last) {
		start = ca.last
	}
	step := sqlPollInterval / sqlNewPerPoll
	der := ca.insert(b, ctx, conn, "sqlbench-new", certs, func(i int) time.Time { return start.Add(time.Duration(i+1) * step) })
	ca.last = start.Add(sqlPollInterval)
	return der
}

var sqlFill struct {
	once sync.Once
	ca   *sqlCA
	// about says what the fill made, for the log.
	about string
}

// sqlFillWindow puts sqlWindowCerts certificates into the lab's certdb,
// issued over the 40 to 5 minutes before now (distinct times), with the
// index, once per test binary (labtest.Up makes a fresh lab per binary).
func sqlFillWindow(b *testing.B, lab *labtest.Lab, ctx context.Context, conn *pgx.Conn) *sqlCA {
	sqlFill.once.Do(func() {
		start := time.Now()
		ca := newSQLCA(b)
		base := start.Add(-40 * time.Minute).Truncate(time.Microsecond)
		step := 35 * time.Minute / sqlWindowCerts
		der := 0
		for done := 0; done < sqlWindowCerts; done += 10_000 {
			certs := ca.issue(b, 10_000)
			off := done
			der += ca.insert(b, ctx, conn, "sqlbench", certs, func(i int) time.Time { return base.Add(time.Duration(off+i) * step) })
		}
		ca.last = base.Add(sqlWindowCerts * step)
		lab.SQL(b, "primary", sqlIndex)
		lab.SQL(b, "primary", "VACUUM (ANALYZE) certificates")
		lab.SQL(b, "primary", "CHECKPOINT")
		waitReplayed(b, lab)
		sqlFill.about = fmt.Sprintf("window: %d certificates (filled in %s): DER %d bytes each on average, PEM column %s bytes, table+indexes %s bytes",
			sqlWindowCerts, time.Since(start).Round(time.Second), der/sqlWindowCerts,
			lab.SQL(b, "primary", "SELECT avg(length(pem))::int FROM certificates WHERE ca_label = 'sqlbench'"),
			lab.SQL(b, "primary", "SELECT pg_total_relation_size('certificates')"))
		sqlFill.ca = ca
	})
	if sqlFill.ca == nil {
		b.Fatal("the window was not filled")
	}
	return sqlFill.ca
}

// waitReplayed waits until both replicas have replayed the fill, so their
// replay does not share the two cores with the measurement.
func waitReplayed(b *testing.B, lab *labtest.Lab) {
	for range 600 {
		if lab.SQL(b, "primary", "SELECT count(*) FILTER (WHERE replay_lsn = pg_current_wal_lsn()) = count(*) FROM pg_stat_replication") == "t" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("replicas did not replay the fill within 60 s")
}

// BenchmarkSQLPoll: the cost of one poll of an sql source (canary.SQLSource,
// as the exporter builds it, and its seen-set) with sqlWindowCerts
// certificates in the tracked hour and sqlNewPerPoll new ones per poll:
// "before" reads the window (no $1), "after" reads from its high-water mark.
//
//	LAB_DIR=/tmp/certstatus-sqlbench LAB_PG_PORT=57432 LAB_OCSP_PORT=57081 LAB_TOPOLOGY= \
//	  go test -run '^$' -bench SQLPoll -benchtime 10x -count 3 -timeout 30m ./bench/
func BenchmarkSQLPoll(b *testing.B) {
	lab := labtest.Up(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:"+strconv.Itoa(lab.Port("primary"))+"/certdb?sslmode=disable")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	ca := sqlFillWindow(b, lab, ctx, conn)
	b.Run("before", func(b *testing.B) { sqlPoll(b, lab, ctx, conn, ca, sqlQueryBefore) })
	b.Run("after", func(b *testing.B) { sqlPoll(b, lab, ctx, conn, ca, sqlQueryAfter) })
}

func sqlPoll(b *testing.B, lab *labtest.Lab, ctx context.Context, conn *pgx.Conn, ca *sqlCA, query string) {
	if sqlFill.about != "" {
		b.Log(sqlFill.about)
		sqlFill.about = ""
	}
	// The window holds the sqlWindowCerts, plus only what this run adds.
	if _, err := conn.Exec(ctx, "DELETE FROM certificates WHERE ca_label = 'sqlbench-new'"); err != nil {
		b.Fatal(err)
	}
	if n := lab.SQL(b, "primary", "SELECT count(*) FROM certificates WHERE issued_at > now() - interval '1 hour'"); n != strconv.Itoa(sqlWindowCerts) {
		b.Fatalf("%s certificates in the window; want %d (the run took too long?)", n, sqlWindowCerts)
	}
	st := store.Open(b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer st.Close()
	const trackFor = time.Hour
	// The default lookback, as a loaded configuration has it.
	src := canary.NewSQLSource(config.Source{Name: "certdb", Type: config.SourceSQL, Inventory: true,
		Database: labDB(lab, "LAB_PRIMARY_DSN"), Query: query, Lookback: config.Duration(config.DefaultLookback)},
		10*time.Second, st, time.Now().Add(-trackFor))
	defer src.Close()
	seen := canary.NewSeenSet(sqlMaxTracked)
	poll := func() int {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		found, err := src.Fetch(pctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range found {
			seen.Add(f.Raw)
		}
		return len(found)
	}
	// Connect and catch up outside the measurement: an incremental source
	// starts at now - track_for and reads 10,000 rows (its LIMIT) per poll.
	catchUp, polls := time.Now(), 1
	for n := poll(); n == 10_000; n = poll() {
		polls++
	}
	src.Commit()
	b.Logf("caught up in %d polls, %s", polls, time.Since(catchUp).Round(time.Millisecond))
	backend := readPIDQuery(b, lab)

	var rows, der int
	var wall, cpu, server time.Duration
	rt0, read0 := src.Traffic()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		der += ca.issueNew(b, ctx, conn)
		b.StartTimer()
		w0, c0, s0 := time.Now(), cpuSelf(), cpuOf(b, backend)
		rows += poll()
		wall += time.Since(w0)
		cpu += cpuSelf() - c0
		server += cpuOf(b, backend) - s0
		b.StopTimer()
		src.Commit()
		b.StartTimer()
	}
	b.StopTimer()
	rt1, read1 := src.Traffic()
	n := float64(b.N)
	b.ReportMetric(float64(rows)/n, "rows/poll")
	b.ReportMetric(float64(read1-read0)/n, "bytes/poll")
	b.ReportMetric(float64(der)/n, "new-der-bytes/poll")
	b.ReportMetric(float64(read1-read0)/float64(der), "bytes/new-der-byte")
	b.ReportMetric(float64(rt1-rt0)/n, "roundtrips/poll")
	b.ReportMetric(float64(wall.Microseconds())/1000/n, "wall-ms/poll")
	b.ReportMetric(float64(cpu.Microseconds())/1000/n, "cpu-ms/poll")
	b.ReportMetric(float64(server.Microseconds())/1000/n, "server-cpu-ms/poll")
}

// readPIDQuery is the pid of the source's server process (its connection
// says application_name=certstatus_exporter).
func readPIDQuery(b *testing.B, lab *labtest.Lab) int {
	pid, err := strconv.Atoi(lab.SQL(b, "primary",
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'certstatus_exporter' AND usename = 'monitor' ORDER BY backend_start DESC LIMIT 1"))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}
