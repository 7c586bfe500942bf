package labtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OpenSSLResponder starts openssl's own OCSP responder over every
// certificate now in the lab's certdb (lab/openssl-ocsp.sh) and returns its
// URL; it is stopped when the test ends. LAB_OPENSSL_OCSP_PORT sets its port.
func (l *Lab) OpenSSLResponder(t testing.TB) string {
	t.Helper()
	run := func(arg string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(l.repo, "lab", "openssl-ocsp.sh"), arg)
		cmd.Env = append(os.Environ(), "LAB_DIR="+l.Dir(), "LAB_PG_PORT="+setting("LAB_PG_PORT", testPGPort))
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := run("start")
	if err != nil {
		t.Fatalf("openssl-ocsp.sh start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := run("stop"); err != nil {
			t.Errorf("openssl-ocsp.sh stop: %v\n%s", err, out)
		}
	})
	lines := strings.Split(out, "\n")
	return lines[len(lines)-1]
}
