package labtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test lab's CRL servers: ports of its own, so that a developer's lab on
// crl.sh's defaults (59190-59192) and the test lab never meet.
// LAB_CRL_PORT and LAB_CRL_CDN_PORT override.
const (
	testCRLPort    = "59095"
	testCRLCDNPort = "59097"
)

var (
	crlOnce sync.Once
	crlEnv  map[string]string
	crlErr  error
)

// CRLUp starts the lab's CRL path (lab/crl.sh: per-origin renderers and
// servers, nginx as the CDN) once per test binary and returns its crl.env.
func (l *Lab) CRLUp(t testing.TB) map[string]string {
	t.Helper()
	crlOnce.Do(func() {
		if _, crlErr = l.runCRL("up"); crlErr == nil {
			crlEnv, crlErr = readEnv(filepath.Join(l.Dir(), "crl", "crl.env"))
		}
	})
	if crlErr != nil {
		t.Fatalf("crl lab up: %v", crlErr)
	}
	return crlEnv
}

// CRL runs a lab/crl.sh command and fails the test if it fails.
func (l *Lab) CRL(t testing.TB, args ...string) string {
	t.Helper()
	out, err := l.runCRL(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (l *Lab) runCRL(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(l.repo, "lab", "crl.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "LAB_DIR="+l.Dir(), "LAB_PG_PORT="+setting("LAB_PG_PORT", testPGPort),
		"LAB_CRL_PORT="+setting("LAB_CRL_PORT", testCRLPort), "LAB_CRL_CDN_PORT="+setting("LAB_CRL_CDN_PORT", testCRLCDNPort))
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return string(out), fmt.Errorf("crl.sh %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out), nil
}

// Revoke marks an issued certificate (by its PEM file) revoked in certdb on
// the primary, as `cfssl revoke` does, and returns its decimal serial.
func (l *Lab) Revoke(t testing.TB, pemFile string, reason int) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(l.repo, ".tools", "bin", "labtool"), "serial", pemFile).Output()
	if err != nil {
		t.Fatalf("labtool serial: %v", err)
	}
	serial := strings.TrimSpace(string(out))
	l.SQL(t, "primary", fmt.Sprintf(
		"UPDATE certificates SET status = 'revoked', revoked_at = now(), reason = %d WHERE serial_number = '%s'::bytea",
		reason, serial))
	return serial
}
