package canary

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
	"github.com/certstatus/certstatus_exporter/store"
)

// Tracked certificates are persisted in one bucket, keyed by the issuer's
// key hash and the serial (not by config position: issuers and origins may
// be reordered or renamed between runs), so that a restart, an upgrade or
// kill -9 keeps every clock and every origin's answer.
const (
	certBucket    = "ocsp_certificates"
	recordVersion = 2
	// flushInterval bounds what a crash can lose: at most this much of
	// answers; the next pass asks again.
	flushInterval = 2 * time.Second
)

// persister writes the tracker's changes in batches and loads them back.
type persister struct {
	// mu makes flushes one at a time, so that a flush that found nothing to
	// write returns only after one under way has written.
	mu      sync.Mutex
	st      *store.Store
	issuers []*ocsp.Issuer
	origins []string
	sources []string // by position, to name a sighting's source
}

func (p *persister) storeKey(k certKey) string {
	return issuerID(p.issuers[k.issuer]) + string(k.bytes())
}

// encode: version, kind, provenance, publishedAt, notAfter, then per origin
// its name and state. A hand-rolled fixed layout rather than gob or JSON:
// a million of these are read at start, and each is ~60 bytes per origin.
func (p *persister) encode(c *tracked, states []originState) []byte {
	b := make([]byte, 0, 20+len(states)*56)
	kind := byte(0)
	if c.precert {
		kind = 1
	}
	b = append(b, recordVersion, kind, byte(c.provenance))
	b = binary.BigEndian.AppendUint64(b, uint64(c.publishedAt))
	b = binary.BigEndian.AppendUint64(b, uint64(c.notAfter))
	w := c.sightings
	b = p.appendSource(b, w.ct)
	b = binary.BigEndian.AppendUint64(b, uint64(w.ctAt)*1e9)
	b = p.appendSource(b, w.inventory)
	b = binary.BigEndian.AppendUint64(b, uint64(w.inventoryAt)*1e9)
	flags := byte(0)
	if w.missingLogged {
		flags |= 1
	}
	if w.unloggedLogged {
		flags |= 2
	}
	b = append(b, flags)
	b = append(b, byte(len(states)))
	for i, s := range states {
		b = append(b, byte(len(p.origins[i])))
		b = append(b, p.origins[i]...)
		flags := byte(0)
		if s.overdue() {
			flags = 1
		}
		// firstAuth is kept as a flag; its field holds since, a time it is
		// never before.
		firstAuth := uint32(0)
		if s.flags&stateFirstAuth != 0 {
			firstAuth = s.since
		}
		b = append(b, byte(s.result), flags)
		for _, v := range []int64{int64(s.since) * 1e9, int64(firstAuth) * 1e9, int64(s.thisUpdate) * 1e9, int64(s.nextUpdate) * 1e9, int64(s.lastCheck) * 1e9} {
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

var errRecord = errors.New("malformed record")

// decode restores a record for the configured origins; origins no longer
// configured are dropped, new ones start with no answer.
func (p *persister) decode(key certKey, v []byte) (tracked, []originState, error) {
	r := reader{b: v}
	if r.byte() != recordVersion {
		return tracked{}, nil, errRecord
	}
	c := tracked{key: key}
	states := make([]originState, len(p.origins))
	c.precert = r.byte() == 1
	c.provenance = Provenance(r.byte())
	c.publishedAt, c.notAfter = r.int64(), r.int64()
	c.sightings.ct, c.sightings.ctAt = p.source(r.bytes(int(r.byte()))), r.seconds()
	c.sightings.inventory, c.sightings.inventoryAt = p.source(r.bytes(int(r.byte()))), r.seconds()
	flags := r.byte()
	c.sightings.missingLogged, c.sightings.unloggedLogged = flags&1 != 0, flags&2 != 0
	for n := int(r.byte()); n > 0 && r.err == nil; n-- {
		name := string(r.bytes(int(r.byte())))
		var s originState
		s.result = ocsp.Result(r.byte())
		s.setFlag(stateOverdue, r.byte() == 1)
		var firstAuth uint32
		s.since, firstAuth, s.thisUpdate, s.nextUpdate, s.lastCheck = r.seconds(), r.seconds(), r.seconds(), r.seconds(), r.seconds()
		s.setFlag(stateFirstAuth, firstAuth != 0)
		for i, o := range p.origins {
			if o == name {
				states[i] = s
			}
		}
	}
	if r.err != nil || c.provenance >= provenanceCount {
		return tracked{}, nil, errRecord
	}
	return c, states, nil
}

// appendSource writes a sighting's source by name ("" for none): positions
// change when the configuration does.
func (p *persister) appendSource(b []byte, pos int16) []byte {
	name := ""
	if pos > 0 && int(pos) <= len(p.sources) && len(p.sources[pos-1]) < 256 {
		name = p.sources[pos-1]
	}
	b = append(b, byte(len(name)))
	return append(b, name...)
}

// source is the position + 1 of a source by name; 0 when it is not
// configured any more (the sighting is forgotten).
func (p *persister) source(name []byte) int16 {
	for i, s := range p.sources {
		if s == string(name) && len(name) > 0 {
			return int16(i + 1)
		}
	}
	return 0
}

// issuerID names an issuer in store keys by both CertID hashes (20 bytes):
// a re-issued CA certificate with the same key but another name is another
// issuer.
func issuerID(is *ocsp.Issuer) string {
	sum := sha256.Sum256(append(append([]byte{}, is.NameHash...), is.KeyHash...))
	return string(sum[:20])
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errRecord
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

// seconds reads Unix nanoseconds (the record's unit) as Unix seconds (the
// tracker's); 0 stays 0.
func (r *reader) seconds() uint32 {
	if ns := r.int64(); ns > 0 {
		return unixSeconds(time.Unix(0, ns))
	}
	return 0
}

func (r *reader) int64() int64 {
	if b := r.bytes(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// load fills t from the store; records of issuers no longer configured, or
// that cannot be read, are skipped (and counted).
func (p *persister) load(t *Tracker) (loaded, skipped int) {
	byHash := map[string]int{}
	for i, is := range p.issuers {
		byHash[issuerID(is)] = i
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	_ = p.st.Load(certBucket, func(k, v []byte) error {
		if len(k) < 20 {
			skipped++
			return nil
		}
		idx, ok := byHash[string(k[:20])]
		if !ok {
			skipped++
			return nil
		}
		serial := k[20:]
		if len(serial) > maxSerialLen {
			skipped++
			return nil
		}
		c, states, err := p.decode(keyOfBytes(idx, serial), v)
		if err != nil {
			skipped++
			return nil
		}
		if _, dup := t.find(c.key); dup {
			return nil
		}
		t.insert(c, states)
		delete(t.dirty, c.key) // as on disk
		loaded++
		return nil
	})
	return loaded, skipped
}

// flush writes what changed since the last flush in one transaction. On
// failure the changes stay marked and are written next time.
func (p *persister) flush(t *Tracker) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t.mu.Lock()
	batch := store.Batch{Bucket: certBucket, Put: make(map[string][]byte, len(t.dirty))}
	for k := range t.dirty {
		if slot, ok := t.find(k); ok {
			batch.Put[p.storeKey(k)] = p.encode(&t.certs[slot], t.originStates(slot))
		}
	}
	for k := range t.gone {
		batch.Delete = append(batch.Delete, p.storeKey(k))
	}
	dirty, gone := t.dirty, t.gone
	t.dirty, t.gone = map[certKey]struct{}{}, map[certKey]struct{}{}
	t.inflight = len(dirty) + len(gone) // still unpersisted until written
	t.publish()
	t.mu.Unlock()
	if len(batch.Put) == 0 && len(batch.Delete) == 0 {
		t.mu.Lock()
		t.inflight = 0
		t.publish()
		t.mu.Unlock()
		return nil
	}
	err := p.st.Write(batch)
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.publish()
	t.inflight = 0
	if err != nil {
		for k := range dirty {
			if _, again := t.gone[k]; !again {
				t.dirty[k] = struct{}{}
			}
		}
		for k := range gone {
			if _, back := t.find(k); !back {
				t.gone[k] = struct{}{}
			}
		}
		return err
	}
	return nil
}

// run flushes every flushInterval until ctx ends, then once more.
func (p *persister) run(ctx context.Context, wg *sync.WaitGroup, t *Tracker, logger *slog.Logger) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(flushInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if err := p.flush(t); err != nil {
					logger.Error("cannot persist tracked certificates", "err", err)
				}
				return
			case <-tick.C:
				_ = p.flush(t) // the store counts and logs failures
			}
		}
	}()
}
