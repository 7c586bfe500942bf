package browsertest

import (
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width"></head>
<body><p id="static">served</p><script>
document.body.insertAdjacentHTML("beforeend", '<p id="scripted">ran ' + (6*7) + '</p>');
</script></body></html>`

// The DOM comes from a real browser: it contains what the page's script wrote.
func TestDumpDOMRunsScripts(t *testing.T) {
	b := Require(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	defer srv.Close()
	dom, err := b.DumpDOM(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, `<p id="scripted">ran 42</p>`) || !strings.Contains(dom, `id="static"`) {
		t.Fatalf("DOM lacks the served and the scripted paragraph:\n%s", dom)
	}
}

func TestScreenshotIsAPNGOfTheWindowSize(t *testing.T) {
	b := Require(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(page))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "shot.png")
	if err := b.Screenshot(context.Background(), srv.URL, file, 390, 300); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 390 || cfg.Height != 300 {
		t.Fatalf("screenshot is %dx%d, want 390x300", cfg.Width, cfg.Height)
	}
}

// A page that never finishes loading ends at the deadline with an error.
func TestDeadline(t *testing.T) {
	b := Require(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := b.DumpDOM(ctx, srv.URL); err == nil {
		t.Fatal("DumpDOM of a hung page returned no error")
	}
}
