// Package labtest brings up the project's test lab (lab/lab.sh) for
// integration tests and gives them handles on its parts. The test lab uses
// its own directory and ports, so a running demo lab is left alone.
package labtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lab is a running lab.
type Lab struct {
	Env  map[string]string // lab.env
	repo string
}

var (
	once    sync.Once
	shared  *Lab
	initErr error
)

// Defaults for the test lab; LAB_DIR, LAB_PG_PORT and LAB_OCSP_PORT override.
const (
	testDir      = "/tmp/certstatus-testlab"
	testPGPort   = "56432"
	testOCSPPort = "59081"
)

// Up starts a fresh test lab once per test binary (whatever an earlier run
// left behind is destroyed first). With -short the test is skipped.
func Up(t testing.TB) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the lab (run without -short)")
	}
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		l := &Lab{repo: repo}
		if _, err := l.run("destroy"); err != nil {
			initErr = err
			return
		}
		if _, err := l.run("up"); err != nil {
			initErr = err
			return
		}
		l.Env, initErr = readEnv(filepath.Join(l.Dir(), "lab.env"))
		shared = l
	})
	if initErr != nil {
		t.Fatalf("lab up: %v", initErr)
	}
	return shared
}

func setting(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Dir is the lab's directory.
func (l *Lab) Dir() string { return setting("LAB_DIR", testDir) }

func (l *Lab) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(l.repo, "lab", "lab.sh")}, args...)...)
	cmd.Env = append(os.Environ(),
		"LAB_DIR="+l.Dir(),
		"LAB_PG_PORT="+setting("LAB_PG_PORT", testPGPort),
		"LAB_OCSP_PORT="+setting("LAB_OCSP_PORT", testOCSPPort),
		"LAB_TOPOLOGY="+Topology())
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return string(out), fmt.Errorf("lab.sh %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out), nil
}

// Run runs a lab.sh command and fails the test if it fails.
func (l *Lab) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := l.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SQL runs statements as superuser on a node (primary, replica-1, replica-2)
// and returns the unaligned, tuples-only output.
func (l *Lab) SQL(t testing.TB, node, sql string) string {
	t.Helper()
	return strings.TrimSpace(l.Run(t, "psql", node, "-Atc", sql))
}

// Port is a node's port (lab.sh's port_of).
func (l *Lab) Port(node string) int {
	base, _ := strconv.Atoi(setting("LAB_PG_PORT", testPGPort))
	offset := map[string]int{"replica-1": 1, "replica-2": 2, "replica-slot": 3, "replica-archive": 4,
		"replica-cascade": 5, "replica-sync": 6}
	return base + offset[node]
}

// ServerVersion is the primary's server_version_num.
func (l *Lab) ServerVersion(t testing.TB) int {
	t.Helper()
	v, err := strconv.Atoi(l.SQL(t, "primary", "SHOW server_version_num"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Topology is the lab's LAB_TOPOLOGY: extra nodes beside the slotless pair.
// The test lab has them all unless LAB_TOPOLOGY says otherwise.
// An empty LAB_TOPOLOGY (set) means the pair only.
func Topology() string {
	if v, ok := os.LookupEnv("LAB_TOPOLOGY"); ok {
		return v
	}
	return "all"
}

// Has says whether the lab has an extra topology (slot, archive, cascade, sync).
func (l *Lab) Has(topology string) bool {
	t := l.Env["LAB_TOPOLOGY"]
	return strings.Contains(" "+t+" ", " "+topology+" ")
}

// PostmasterPID is the pid of a node's postmaster.
func (l *Lab) PostmasterPID(t testing.TB, node string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.Dir(), node, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// WriteWAL makes the primary write about mb megabytes of WAL.
func (l *Lab) WriteWAL(t testing.TB, mb int) {
	t.Helper()
	l.SQL(t, "primary", fmt.Sprintf(
		"INSERT INTO walfill (pad) SELECT repeat('x', 1000) FROM generate_series(1, %d); TRUNCATE walfill;", mb*900))
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// Issue issues a certificate through cfssl with its signed OCSP row and
// returns its PEM file.
func (l *Lab) Issue(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(l.Run(t, "issue", "1"))
}

// IssueNoRow issues a certificate into certdb without its OCSP row.
func (l *Lab) IssueNoRow(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(l.Run(t, "issue-norow", "1"))
}

// Precert writes a precertificate into dir; it has no row anywhere.
func (l *Lab) Precert(t testing.TB, dir string) string {
	t.Helper()
	return strings.TrimSpace(l.Run(t, "precert", dir))
}
