package canary

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// maxCertFileBytes bounds what is read of one spool file.
const maxCertFileBytes = 256 << 10

// DirSource reads new files of a spool folder (PEM or DER). It only reads:
// the CA's files are never changed or removed.
type DirSource struct {
	path string
	// seen maps a file name to the modification time it was read at; names
	// gone from the folder are forgotten, so it stays as small as the folder.
	seen map[string]time.Time
}

// NewDirSource watches path.
func NewDirSource(path string) *DirSource {
	return &DirSource{path: path, seen: map[string]time.Time{}}
}

// Fetch returns the files that are new or changed since the last call, each
// with its modification time as the publication time: a spool file is
// written when the CA issues. Out of time, it returns what it read with the
// error: those files are marked seen, so the caller must use them, and the
// next call goes on from there.
func (d *DirSource) Fetch(ctx context.Context) ([]Found, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, &pgconn.ProbeError{Reason: pgconn.ReasonOther, Err: err}
	}
	present := make(map[string]bool, len(entries))
	var out []Found
	for _, e := range entries {
		if ctx.Err() != nil {
			return out, &pgconn.ProbeError{Reason: pgconn.ReasonTimeout, Err: ctx.Err()}
		}
		if !e.Type().IsRegular() || e.Name()[0] == '.' {
			continue
		}
		present[e.Name()] = true
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if t, ok := d.seen[e.Name()]; ok && t.Equal(info.ModTime()) {
			continue
		}
		raw, err := readFileLimited(filepath.Join(d.path, e.Name()))
		d.seen[e.Name()] = info.ModTime()
		if err != nil {
			// Counted once per modification: each unreadable file by name.
			out = append(out, Found{ID: e.Name(), Unreadable: true})
			continue
		}
		out = append(out, Found{Raw: raw, PublishedAt: info.ModTime(), Provenance: ProvenanceSpoolMTime, ID: e.Name()})
	}
	for name := range d.seen {
		if !present[name] {
			delete(d.seen, name)
		}
	}
	return out, nil
}

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCertFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxCertFileBytes)
	}
	return b, nil
}

// Close does nothing; a folder holds no connection.
func (d *DirSource) Close() {}
