package crl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/internal/target"
)

// Limits on a shard list fetched by URL.
const (
	maxListShards = 1024
	maxListBytes  = 1 << 20
)

// Shard-list failure reasons, the probe_failures_total reason label.
const (
	listReasonFetch   = "fetch"
	listReasonInvalid = "invalid"
)

type listError struct {
	reason string
	err    error
}

func (e *listError) Error() string { return e.err.Error() }

func listHealth() target.Health {
	return target.NewHealth(target.Classifier{Reasons: []string{listReasonFetch, listReasonInvalid}, ReasonOf: func(err error) string {
		var le *listError
		if errors.As(err, &le) {
			return le.reason
		}
		return listReasonFetch
	}})
}

// refreshList fetches the CCADB shard list and makes its shards the
// canary's list shards; on failure the previous list stays.
func (c *Canary) refreshList(ctx context.Context) {
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout.D())
	shards, err := c.fetchList(lctx)
	cancel()
	if target.Cancelled(ctx) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list.Record(start, err)
	if err != nil {
		c.logger.Warn("CRL shard list not usable; keeping the previous one", "url", c.cfg.ShardList.URL, "err", err)
		return
	}
	c.setListShards(shards)
}

func (c *Canary) fetchList(ctx context.Context) ([]config.Shard, error) {
	l := c.cfg.ShardList
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
	if err != nil {
		return nil, &listError{listReasonFetch, err}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &listError{listReasonFetch, err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &listError{listReasonFetch, fmt.Errorf("HTTP status %s", resp.Status)}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	switch {
	case err != nil:
		return nil, &listError{listReasonFetch, err}
	case len(raw) > maxListBytes:
		return nil, &listError{listReasonInvalid, fmt.Errorf("shard list over %d bytes", maxListBytes)}
	}
	shards, err := config.ParseShardList(raw, l.Issuer)
	if err != nil {
		return nil, &listError{listReasonInvalid, err}
	}
	if len(shards) > maxListShards {
		return nil, &listError{listReasonInvalid, fmt.Errorf("%d shards; at most %d", len(shards), maxListShards)}
	}
	names := map[string]bool{}
	for _, s := range c.cfg.Shards {
		names[s.Name] = true
	}
	for i := range shards {
		if names[shards[i].Name] {
			return nil, &listError{listReasonInvalid, fmt.Errorf("shard name %q (from %s) is not unique", shards[i].Name, shards[i].URL)}
		}
		names[shards[i].Name] = true
		shards[i].IssuerCert = l.IssuerCert
	}
	return shards, nil
}

// setListShards replaces the list shards, creating and dropping their
// targets and counters; c.mu is held.
func (c *Canary) setListShards(shards []config.Shard) {
	keep := map[string]bool{}
	for _, s := range shards {
		keep[s.Name] = true
	}
	for _, s := range c.listShards {
		if keep[s.Name] {
			continue
		}
		for _, o := range c.cfg.Origins {
			delete(c.targets, markKey{s.Name, o.Name})
			c.metrics.Forget(s.Name, o.Name)
		}
	}
	for _, s := range shards {
		c.addTargets(s)
	}
	c.listShards = shards
}

// addTargets creates a shard's targets at every origin, if new; c.mu is held
// (or the canary is not running yet).
func (c *Canary) addTargets(s config.Shard) {
	for _, o := range c.cfg.Origins {
		if _, ok := c.targets[markKey{s.Name, o.Name}]; !ok {
			c.targets[markKey{s.Name, o.Name}] = &targetState{shard: s.Name, origin: o.Name, cdn: o.CDN}
			c.metrics.initLabels(s.Name, o.Name)
		}
	}
}

// shards is every shard: the configured ones, then the list's. c.mu is held.
func (c *Canary) shards() []config.Shard {
	return append(append(make([]config.Shard, 0, len(c.cfg.Shards)+len(c.listShards)), c.cfg.Shards...), c.listShards...)
}
