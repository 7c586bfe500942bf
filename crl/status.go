package crl

// Overdue lists, per origin, the revocations not rightly listed there
// (mismatched and overdue first, then pending; oldest first; at most 100 per
// origin), for the status page and the API. Serials are shown, never labels.
func (c *Canary) Overdue() []Unlisted {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Unlisted
	for _, o := range c.snap.origins {
		out = append(out, o.unlisted...)
	}
	return out
}
