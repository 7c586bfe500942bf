package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/lab/labtest"
	"github.com/certstatus/certstatus_exporter/store"
)

// An incremental sql source ($1 = high-water mark less the lookback) reads
// every row however the LIMIT cuts groups of rows with the same issuance
// time, and a row committed late behind the mark; a new source on the same
// store resumes from the persisted mark.
func TestSQLSourceIncremental(t *testing.T) {
	lab := labtest.Up(t)
	lab.Run(t, "bulk", "40")
	lab.SQL(t, "primary", `DROP TABLE IF EXISTS inc_test;
CREATE TABLE inc_test AS SELECT pem, timestamptz '2026-11-27 00:00:00+00' + (row_number() OVER () / 10) * interval '1 second' AS issued_at
FROM (SELECT pem FROM certificates WHERE ca_label = 'bulk' LIMIT 30) c;
GRANT SELECT ON inc_test TO monitor;`)
	e := lab.Env
	src := config.Source{Name: "inc", Type: config.SourceSQL,
		Database: config.Database{DSN: e["LAB_PRIMARY_DSN"], PasswordFile: e["LAB_PASSWORD_FILE"]},
		Query:    "SELECT pem, issued_at FROM inc_test WHERE issued_at > $1 ORDER BY issued_at LIMIT 15",
		Lookback: config.Duration(time.Second)}
	st := store.Open(t.TempDir(), promslog.NewNopLogger())
	defer st.Close()
	start := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

	seen := map[string]bool{}
	read := func(s *canary.SQLSource) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		found, err := s.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Commit() // as the canary does once what was read is stored
		fresh := 0
		for _, f := range found {
			if !seen[string(f.Raw)] {
				seen[string(f.Raw)], fresh = true, fresh+1
			}
		}
		return fresh
	}
	s := canary.NewSQLSource(src, 5*time.Second, st, start)
	for polls := 0; len(seen) < 30; polls++ {
		if polls > 10 {
			t.Fatalf("after %d polls only %d of 30 rows read", polls, len(seen))
		}
		read(s)
	}
	s.Close()

	// A restart: the mark comes back from the store; only new rows are news.
	s = canary.NewSQLSource(src, 5*time.Second, st, start)
	defer s.Close()
	if n := read(s); n != 0 {
		t.Errorf("after a restart %d rows were new again", n)
	}
	lab.SQL(t, "primary", `INSERT INTO inc_test SELECT pem, timestamptz '2026-11-27 00:01:00+00' FROM certificates
WHERE ca_label = 'bulk' AND pem NOT IN (SELECT pem FROM inc_test) LIMIT 5`)
	if n := read(s); n != 5 {
		t.Errorf("%d new rows after inserting 5", n)
	}
	// A row stamped before the mark but committed after the last read (two
	// inserting transactions committing out of order) is within the
	// lookback: read, not skipped for ever.
	lab.SQL(t, "primary", `INSERT INTO inc_test SELECT pem, timestamptz '2026-11-27 00:00:59.5+00' FROM certificates
WHERE ca_label = 'bulk' AND pem NOT IN (SELECT pem FROM inc_test) LIMIT 1`)
	if n := read(s) + read(s); n != 1 {
		t.Errorf("%d new rows after a late commit 0.5 s behind the mark; want 1", n)
	}
	var got []string
	_ = st.Load("source_positions", func(k, v []byte) error { got = append(got, fmt.Sprintf("%s=%s", k, v)); return nil })
	if len(got) != 1 || got[0] != "inc=2026-11-27T00:00:59.5Z" {
		t.Errorf("persisted position %v", got)
	}
}
