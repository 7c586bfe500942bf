package exporter

import (
	"fmt"
	"math"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// The incident view's rows: view values formatted for people, with the CSS
// class that marks what is wrong.

type replicaRow struct {
	Name, Class, LastSuccess, Streaming, StreamClass    string
	ReceiveLag, ReplayLag, ReplayLagTime, Headroom, ETA string
	ETAClass, Lost, Error                               string
	Up                                                  bool
}

type originRow struct {
	Name, Class, Answering, LastAnswer, LastPass, LastError string
	CDN                                                     bool
	Pending, Authoritative, Overdue                         int
}

type sourceRow struct {
	Name, Type, Class, UpText, Position, Lag, LastSuccess, Error string
}

type certRow struct {
	Serial, Link, State, StateClass, Class, Kind, Issuer string
	PublishedAt, Provenance, Age                         string
	Origins                                              []answerRow
}

type answerRow struct{ Origin, State, Result, Since, Class string }

func newReplicaRow(r view.Replica) replicaRow {
	row := replicaRow{Name: r.Name, Up: r.Up, LastSuccess: stamp(r.LastSuccess), Error: r.LastError,
		ReceiveLag: "?", ReplayLag: "?", Headroom: "?", ETA: "?", Lost: "?"}
	switch replicaSeverity(r) {
	case 0, 1:
		row.Class = "bad"
	case 2:
		row.Class = "warn"
	}
	if !r.Up {
		row.Streaming, row.ReplayLagTime = "?", "?"
		return row
	}
	switch {
	case r.ReplayPaused && r.Streaming:
		row.Streaming, row.StreamClass = "streaming, replay paused", "warn-t"
	case r.ReplayPaused:
		row.Streaming, row.StreamClass = "not streaming, replay paused", "bad-t"
	case r.Streaming:
		row.Streaming, row.StreamClass = "streaming", "ok-t"
	default:
		row.Streaming, row.StreamClass = "not streaming", "bad-t"
	}
	row.ReplayLagTime = seconds(r.ReplayLagSecs)
	if r.ReceiveLagBytes != nil {
		row.ReceiveLag = iec(*r.ReceiveLagBytes)
	}
	if r.ReplayLagBytes != nil {
		row.ReplayLag = iec(*r.ReplayLagBytes)
	}
	if r.HeadroomBytes != nil {
		row.Headroom, row.Lost = iec(*r.HeadroomBytes), "no"
	}
	if r.WALLost {
		row.Lost = "yes: rebuild, or restore from the archive"
	}
	if e := r.LossETASecs; e != nil {
		row.ETA = seconds(*e)
		if math.IsInf(*e, 1) {
			row.ETA = "never (gap not growing)"
		}
		switch {
		case *e < 600:
			row.ETAClass = "bad-t"
			row.Class = "bad"
		case *e < 3600:
			row.ETAClass = "warn-t"
			if row.Class == "" {
				row.Class = "warn"
			}
		}
	}
	return row
}

func newOriginRow(o view.Origin) originRow {
	row := originRow{Name: o.Name, CDN: o.CDN, LastAnswer: stamp(o.LastAnswer), LastPass: stamp(o.LastPass),
		LastError: o.LastError, Pending: o.Pending, Authoritative: o.Authoritative, Overdue: o.Overdue}
	row.Answering, row.Class = health(o.Probed, o.Up, "not asked yet", "yes", "no")
	if o.Overdue > 0 {
		row.Class = "bad"
	} else if o.Pending > 0 && row.Class == "" {
		row.Class = "warn"
	}
	return row
}

func newSourceRow(s view.Source) sourceRow {
	row := sourceRow{Name: s.Name, Type: s.Type, Position: s.Position, Lag: s.Lag, LastSuccess: stamp(s.LastSuccess), Error: s.LastError}
	row.UpText, row.Class = health(s.Probed, s.Up, "not read yet", "up", "down")
	return row
}

func stateClass(s string) string {
	switch s {
	case view.StateOverdue:
		return "bad-t"
	case view.StatePending:
		return "warn-t"
	}
	return "ok-t"
}

func newCertRow(c view.Certificate, link string, now time.Time) certRow {
	w := c.Worst()
	row := certRow{Serial: c.Serial, Link: link, State: w, StateClass: stateClass(w), Kind: c.Kind,
		Issuer: c.Issuer, PublishedAt: stamp(c.PublishedAt), Provenance: c.Provenance, Age: ago(now.Sub(c.PublishedAt))}
	switch w {
	case view.StateOverdue:
		row.Class = "bad"
	case view.StatePending:
		row.Class = "warn"
	}
	for _, o := range c.Origins {
		a := answerRow{Origin: o.Origin, State: o.State, Result: o.Result, Class: stateClass(o.State)}
		if o.Since.IsZero() {
			a.Result = "not asked yet"
		} else {
			a.Since = "since " + stamp(o.Since) + " (" + ago(now.Sub(o.Since)) + ")"
		}
		row.Origins = append(row.Origins, a)
	}
	return row
}

// ago is a duration for people: 45s, 12m30s, 5h12m, 14d3h.
func ago(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Hour:
		return d.String()
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	days := d / (24 * time.Hour)
	return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
}

func seconds(s float64) string {
	if math.IsInf(s, 1) {
		return "∞"
	}
	return ago(time.Duration(s * float64(time.Second)))
}

// iec formats bytes with binary prefixes.
func iec(b float64) string {
	if math.IsInf(b, 1) {
		return "unlimited"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// health words a target's state; a down target gets the "bad" class.
func health(probed, up bool, notYet, yes, no string) (text, class string) {
	switch {
	case !probed:
		return notYet, ""
	case up:
		return yes, ""
	}
	return no, "bad"
}
