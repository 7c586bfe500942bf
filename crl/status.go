package crl

import (
	"fmt"
	"strings"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/target"
	"github.com/certstatus/certstatus_exporter/internal/view"
)

// Probe label values on the status page and probe_* metrics.
const (
	probeCRL        = "crl"
	probeSource     = "crl_source"
	probeShardList  = "crl_shard_list"
	probeRevocation = "crl_revocations"
	// statusSerials is how many unlisted serials an origin's row names.
	statusSerials = 10
)

// Status implements exporter.Component: one row per shard at each origin,
// one for the revocation source, and one per origin naming the serials it
// does not list in time (worst first).
func (c *Canary) Status() []target.Row {
	c.mu.RLock()
	snap := c.snap
	c.mu.RUnlock()
	var rows []target.Row
	if snap.hasSrc {
		rows = append(rows, snap.src.Row(probeSource, "revocations"))
	}
	if snap.listByURL {
		row := snap.list.Row(probeShardList, "shard_list")
		row.Summary = fmt.Sprintf("%d shards", snap.shards)
		rows = append(rows, row)
	}
	for _, t := range snap.targets {
		row := target.Row{Probe: probeCRL, Target: t.shard + "@" + t.origin, Probed: !t.checkedAt.IsZero(),
			Up: t.result == ResultOK, LastSuccess: t.lastSuccess, LastProbe: t.checkedAt, Duration: t.duration}
		if t.result != ResultOK {
			row.Error = t.result.String()
			if t.err != "" {
				row.Error += ": " + t.err
			}
		}
		if v := t.view; v != nil {
			row.Summary = fmt.Sprintf("number %s, thisUpdate %s, %d entries", numberText(v), v.ThisUpdate.UTC().Format(time.RFC3339), len(v.Entries))
		}
		rows = append(rows, row)
	}
	for _, o := range snap.origins {
		if !snap.hasSrc {
			break
		}
		row := target.Row{Probe: probeRevocation, Target: o.origin, Probed: snap.src.Probed,
			Up: o.states[StateOverdue] == 0 && o.states[StateMismatched] == 0, LastSuccess: snap.src.LastSuccess, LastProbe: snap.src.LastProbe,
			Summary: fmt.Sprintf("%d listed, %d pending, %d overdue, %d mismatched",
				o.states[StateListed], o.states[StatePending], o.states[StateOverdue], o.states[StateMismatched])}
		var bad []string
		for _, u := range o.unlisted {
			if len(bad) == statusSerials {
				bad = append(bad, "…")
				break
			}
			bad = append(bad, fmt.Sprintf("%s %x (revoked %s)", u.State, u.Serial, u.RevokedAt.UTC().Format(time.RFC3339)))
		}
		row.Error = strings.Join(bad, "; ")
		rows = append(rows, row)
	}
	return rows
}

// UnlistedRevocations implements view.RevocationLister.
func (c *Canary) UnlistedRevocations() []view.Revocation {
	un := c.Overdue()
	out := make([]view.Revocation, len(un))
	for i, u := range un {
		out[i] = view.Revocation{Serial: fmt.Sprintf("%x", u.Serial), Origin: u.Origin, State: u.State.String(), RevokedAt: u.RevokedAt.UTC()}
	}
	return out
}

func numberText(v *View) string {
	if v.Number == nil {
		return "none"
	}
	return v.Number.String()
}

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
