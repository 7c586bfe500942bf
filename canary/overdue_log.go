package canary

import (
	"log/slog"
	"math/big"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// maxOverdueLines bounds the per-certificate log lines of one origin pass:
// an incident like SSL.com's (tens of thousands of certificates) must not
// flood the log; the rest is one line with a count.
const maxOverdueLines = 100

// OverdueChange is a certificate that became overdue at an origin, or that
// is authoritative there again after having been reported overdue.
type OverdueChange struct {
	Serial    *big.Int
	Kind      string
	IssuedAt  time.Time
	Result    ocsp.Result // the origin's latest answer
	Recovered bool
}

// OverdueChanges returns, oldest first as found, up to limit certificates
// whose overdue state at origin o changed since the last call, and how many
// more changed. Each change is reported once: the rest are marked too.
func (t *Tracker) OverdueChanges(o int, now time.Time, sla time.Duration, limit int) (changes []OverdueChange, more int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := now.Add(-sla).UnixNano()
	for _, c := range t.certs {
		s := &c.origins[o]
		var ch OverdueChange
		switch {
		case !s.overdueLogged && !s.authoritative() && c.issuedAt < deadline:
			s.overdueLogged = true
		case s.overdueLogged && s.authoritative():
			s.overdueLogged, ch.Recovered = false, true
		default:
			continue
		}
		if len(changes) >= limit {
			more++
			continue
		}
		ch.Serial, ch.Kind, ch.IssuedAt, ch.Result = new(big.Int).SetBytes([]byte(c.key.serial)), c.kind, time.Unix(0, c.issuedAt), s.result
		changes = append(changes, ch)
	}
	return changes, more
}

// logOverdueChanges writes one structured line per certificate that became
// overdue at origin o or recovered there: what Loki users alert on.
func (c *canary) logOverdueChanges(o *originTarget, logger *slog.Logger) {
	now := time.Now()
	changes, more := c.tracker.OverdueChanges(o.idx, now, c.cfg.SLA.D(), maxOverdueLines)
	for _, ch := range changes {
		attrs := []any{"serial", view.SerialHex(ch.Serial), "kind", ch.Kind,
			"age", now.Sub(ch.IssuedAt).Round(time.Second).String(), "result", ch.Result.String()}
		if ch.Recovered {
			logger.Info("certificate authoritative again", attrs...)
		} else {
			logger.Warn("certificate overdue", attrs...)
		}
	}
	if more > 0 {
		logger.Warn("more certificates changed overdue state than are logged one by one", "count", more)
	}
}
