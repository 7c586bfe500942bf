package target

import "time"

// Row is one target on the status page: a replica, the primary, a source,
// an origin. Summary carries what the target measures (counts), never its
// health, so a failing origin cannot look fresh.
type Row struct {
	Probe, Target string
	Probed, Up    bool
	// LastSuccess is the last time the target answered; LastProbe the last
	// time it was asked.
	LastSuccess, LastProbe time.Time
	Duration               time.Duration
	Summary                string
	Error                  string
}
