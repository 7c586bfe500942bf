package ocsp

import (
	"crypto/sha256"
	"crypto/x509"
	"hash/maphash"
	"sync"
)

// ResponderCache remembers delegated responder certificates already found
// signed by their issuer, so that an origin's thousands of answers, all
// carrying the same responder certificate, cost one signature check each
// (the response's own) instead of two. Bounded; safe for concurrent use.
//
// It also keys the digests of answers (see Known).
type ResponderCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	ok    map[[32]byte]struct{}
	order [][32]byte // insertion order, for eviction
	max   int
}

// NewResponderCache remembers at most max responder certificates.
func NewResponderCache(max int) *ResponderCache {
	return &ResponderCache{seed: maphash.MakeSeed(), ok: map[[32]byte]struct{}{}, max: max}
}

func responderKey(issuer, responder *x509.Certificate) [32]byte {
	h := sha256.New()
	h.Write(issuer.Raw)
	h.Write(responder.Raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// checkIssued reports whether issuer signed responder, from the cache when
// it was checked before. Only successes are remembered.
func (c *ResponderCache) checkIssued(issuer, responder *x509.Certificate) error {
	if c == nil {
		return issuer.CheckSignature(responder.SignatureAlgorithm, responder.RawTBSCertificate, responder.Signature)
	}
	k := responderKey(issuer, responder)
	c.mu.Lock()
	_, hit := c.ok[k]
	c.mu.Unlock()
	if hit {
		return nil
	}
	if err := issuer.CheckSignature(responder.SignatureAlgorithm, responder.RawTBSCertificate, responder.Signature); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ok[k]; !ok {
		if len(c.order) >= c.max {
			delete(c.ok, c.order[0])
			c.order = c.order[1:]
		}
		c.ok[k] = struct{}{}
		c.order = append(c.order, k)
	}
	return nil
}
