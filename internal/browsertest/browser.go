// Package browsertest drives Debian's headless Chromium for tests: load a URL,
// return the DOM after the page's scripts ran, and save screenshots as test
// artifacts. Each call is a fresh browser process with a throwaway profile and
// a deadline, so a hung page fails the test instead of hanging it.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultBinary is where Debian's chromium package installs the browser.
const DefaultBinary = "/usr/bin/chromium"

// Browser runs one headless Chromium process per call.
type Browser struct {
	Binary  string        // path to chromium
	Timeout time.Duration // per call, when the context has no earlier deadline
}

// Find returns a Browser for $CHROMIUM, /usr/bin/chromium or chromium on PATH.
func Find() (*Browser, error) {
	for _, c := range []string{os.Getenv("CHROMIUM"), DefaultBinary} {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return &Browser{Binary: c, Timeout: time.Minute}, nil
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return nil, errors.New("chromium not found: run scripts/deps.sh (apt-get install chromium) or set CHROMIUM")
	}
	return &Browser{Binary: p, Timeout: time.Minute}, nil
}

// flags keep the browser off the network except for the page under test and
// make it runnable as root in a container.
func flags(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + profile,
	}
}

// DumpDOM loads url and returns the serialised DOM after the load event.
func (b *Browser) DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := b.run(ctx, "--dump-dom", url)
	return string(out), err
}

// Screenshot loads url in a width×height window and writes a PNG to file.
func (b *Browser) Screenshot(ctx context.Context, url, file string, width, height int) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if _, err := b.run(ctx, "--screenshot="+abs, fmt.Sprintf("--window-size=%d,%d", width, height), url); err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium wrote no screenshot to %s", abs)
	}
	return nil
}

func (b *Browser) run(ctx context.Context, args ...string) ([]byte, error) {
	if b.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.Timeout)
		defer cancel()
	}
	profile, err := os.MkdirTemp("", "browsertest-profile")
	if err != nil {
		return nil, err
	}
	// Chromium's helpers may still be writing the profile as it exits.
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, b.Binary, append(flags(profile), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Chromium forks renderer and GPU helpers: kill the whole group on deadline.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.Bytes(), fmt.Errorf("chromium %s: %w\n%s", args[0], err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
