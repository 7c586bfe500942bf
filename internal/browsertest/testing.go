package browsertest

import (
	"os"
	"path/filepath"
	"testing"
)

// Require returns the browser, skipping under -short and failing otherwise
// when Chromium is not installed (a browser test that silently skips in CI
// proves nothing).
func Require(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ArtifactDir is where tests keep screenshots: $ARTIFACTS if set, else
// testdata/out beside the test (gitignored). It is kept after the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "out")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}
