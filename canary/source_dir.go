package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/certstatus/certstatus_exporter/internal/pgconn"
)

// maxCertFileBytes bounds what is read of one spool file.
const maxCertFileBytes = 256 << 10

// dirBatch is how many names one directory read returns: the listing of a
// large folder is never held whole, and a deadline is noticed between batches.
const dirBatch = 1024

// DirSource reads new files of a spool folder (PEM or DER). It only reads:
// the CA's files are never changed or removed.
//
// A spool file is written once under a name of its own (a CA's spool names
// files by serial or by a sequence that never restarts in the same folder),
// so a name already read is skipped on its name alone, without a stat: a poll of a folder with nothing new costs one
// listing. Two kinds of name are looked at again (stat, and read again if
// their modification time or size moved): unreadable ones, so a file
// rewritten after it could not be read counts again; and a readable one once,
// a listing after it was read, in case the CA was still writing it.
type DirSource struct {
	path string
	// seen maps each name read to the listing that last saw it (gen); a
	// name absent from a whole listing is gone and forgotten, so seen stays
	// as small as the folder.
	seen map[string]uint32
	// recheck holds the names to look at again (see DirSource): few, but all
	// of a folder read for the first time.
	recheck map[string]fileStamp
	gen     uint32
	// peaks of both maps since they were last made: Go maps keep their size
	// after deletes, so a map far below its peak is copied smaller.
	seenPeak, recheckPeak int
	// dir is the listing under way and batch the part of its last read not
	// yet handled; a call cut short by its deadline leaves them for the next.
	dir   *os.File
	batch []os.DirEntry
	// folder is the spool folder as last opened: one removed and made again
	// is another folder, whose names are all new (told by device and inode:
	// one made again with the old inode number is not noticed).
	folder fs.FileInfo
}

// fileStamp is what a spool file looked like when it was read.
type fileStamp struct {
	mtime, size int64
	unreadable  bool
}

func stampOf(info fs.FileInfo) fileStamp {
	return fileStamp{mtime: info.ModTime().UnixNano(), size: info.Size()}
}

// NewDirSource watches path.
func NewDirSource(path string) *DirSource {
	return &DirSource{path: path, seen: map[string]uint32{}, recheck: map[string]fileStamp{}}
}

// Fetch returns the files that are new (or rewritten, see DirSource) since
// the last call, each with its modification time as the publication time: a
// spool file is written when the CA issues. Out of time, it returns what it
// read with the error: those files are marked seen, so the caller must use
// them, and the next call goes on from there.
func (d *DirSource) Fetch(ctx context.Context) ([]Found, error) {
	if d.dir == nil {
		f, err := os.Open(d.path)
		if err != nil {
			return nil, &pgconn.ProbeError{Reason: pgconn.ReasonOther, Err: err}
		}
		if info, err := f.Stat(); err == nil {
			if d.folder != nil && !os.SameFile(d.folder, info) {
				d.seen, d.recheck = map[string]uint32{}, map[string]fileStamp{}
			}
			d.folder = info
		}
		d.dir, d.batch = f, nil
		d.gen++
	}
	var out []Found
	for {
		if ctx.Err() != nil {
			return out, &pgconn.ProbeError{Reason: pgconn.ReasonTimeout, Err: ctx.Err()}
		}
		if len(d.batch) == 0 {
			batch, err := d.dir.ReadDir(dirBatch)
			if errors.Is(err, io.EOF) {
				d.endListing(true)
				return out, nil
			}
			if err != nil {
				d.endListing(false)
				return out, &pgconn.ProbeError{Reason: pgconn.ReasonOther, Err: err}
			}
			d.batch = batch
		}
		for len(d.batch) > 0 {
			e := d.batch[0]
			d.batch[0] = nil // not held once handled
			d.batch = d.batch[1:]
			f, ok, touched := d.visit(e)
			if ok {
				out = append(out, f)
			}
			if touched && ctx.Err() != nil {
				return out, &pgconn.ProbeError{Reason: pgconn.ReasonTimeout, Err: ctx.Err()}
			}
		}
	}
}

// visit handles one entry of the listing: ok when it returns a file; touched
// when it went to the disk (only then is the deadline worth checking).
func (d *DirSource) visit(e os.DirEntry) (f Found, ok, touched bool) {
	name := e.Name()
	if name[0] == '.' || !e.Type().IsRegular() {
		return Found{}, false, false
	}
	if _, known := d.seen[name]; known {
		d.seen[name] = d.gen
		was, again := d.recheck[name]
		if !again {
			return Found{}, false, false
		}
		info, err := e.Info()
		if err != nil {
			return Found{}, false, true // removed meanwhile: forgotten at the end of the listing
		}
		now := stampOf(info)
		now.unreadable = was.unreadable
		if now == was {
			if !was.unreadable {
				delete(d.recheck, name) // settled: never looked at again
			}
			return Found{}, false, true
		}
	}
	f, st, err := d.read(name, e)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Found{}, false, true // removed meanwhile
	case err != nil: // neither openable nor stat-able: unreadable, looked at again
		f, st = Found{ID: name, Unreadable: true}, fileStamp{unreadable: true}
	}
	d.seen[name] = d.gen
	d.recheck[name] = st
	return f, true, true
}

// read reads one file; its time and size are the open file's own, so they
// go with the bytes read.
func (d *DirSource) read(name string, e os.DirEntry) (Found, fileStamp, error) {
	fh, err := os.Open(filepath.Join(d.path, name))
	if err != nil {
		info, lerr := e.Info()
		if lerr != nil {
			return Found{}, fileStamp{}, lerr
		}
		st := stampOf(info)
		st.unreadable = true
		// Counted once per modification: each unreadable file by name.
		return Found{ID: name, Unreadable: true}, st, nil
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return Found{ID: name, Unreadable: true}, fileStamp{unreadable: true}, nil
	}
	st := stampOf(info)
	raw, err := readLimited(fh)
	if err != nil {
		st.unreadable = true
		return Found{ID: name, Unreadable: true}, st, nil
	}
	return Found{Raw: raw, PublishedAt: info.ModTime(), Provenance: ProvenanceSpoolMTime, ID: name}, st, nil
}

// endListing closes the listing; a complete one forgets the names it did
// not see.
func (d *DirSource) endListing(complete bool) {
	d.dir.Close()
	d.dir, d.batch = nil, nil
	if !complete {
		return
	}
	for name, g := range d.seen {
		if g != d.gen {
			delete(d.seen, name)
			delete(d.recheck, name)
		}
	}
	d.seen, d.seenPeak = compact(d.seen, d.seenPeak)
	d.recheck, d.recheckPeak = compact(d.recheck, d.recheckPeak)
}

// compact returns m, or a copy of it when it holds under a quarter of its
// peak, with the peak to keep.
func compact[V any](m map[string]V, peak int) (map[string]V, int) {
	if len(m) >= peak/4 {
		return m, max(peak, len(m))
	}
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c, len(c)
}

func readLimited(f io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, maxCertFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCertFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxCertFileBytes)
	}
	return b, nil
}

// Close ends a listing left under way.
func (d *DirSource) Close() {
	if d.dir != nil {
		d.endListing(false)
	}
}
