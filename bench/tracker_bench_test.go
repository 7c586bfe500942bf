package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/canary"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// BenchmarkTrackerPass: one 15 s pass of the tracker for 3 origins, in
// steady state at 10k, 100k and 1M tracked certificates: 1,500 new
// certificates (100/s), then per origin Due, every due certificate answered
// good, and Stats. No HTTP: this is the bookkeeping that used to scan every
// certificate under one lock (issue 12: 360 ms + 400 ms per origin pass at
// 1M). Side by side, the cost per pass should not grow with what is tracked.
func BenchmarkTrackerPass(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("tracked=%d", n), func(b *testing.B) { trackerPass(b, n) })
	}
}

func trackerPass(b *testing.B, n int) {
	const origins, perPass, pass = 3, 1500, 15 * time.Second
	tr := canary.NewTracker(origins, n+perPass*1000)
	tr.SetSchedule(canary.Schedule{Recheck: 5 * time.Minute, TrackFor: 24 * time.Hour, Rate: 100, Pass: pass})
	tr.KeepChanges(false) // no store here; with one, a flush every 2 s empties them
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	// n certificates published over the last day, each answered a second ago.
	for i := 0; i < n; i++ {
		tr.Add(canary.IssuedCert{Serial: probesSerial(i), PublishedAt: now.Add(-time.Duration(i) * 24 * time.Hour / time.Duration(n)),
			Provenance: canary.ProvenanceSourceTime, Kind: canary.KindCertificate})
	}
	answered := now.Add(-time.Second)
	for o := 0; o < origins; o++ {
		for _, d := range tr.Due(o, now) {
			tr.Record(o, d, goodAnswer(answered), answered)
		}
	}
	next, dueTotal := n, 0
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(pass)
		for i := 0; i < perPass; i++ {
			tr.Add(canary.IssuedCert{Serial: probesSerial(next), PublishedAt: now, Provenance: canary.ProvenanceSourceTime, Kind: canary.KindCertificate})
			next++
		}
		tr.Expire(now)
		for o := 0; o < origins; o++ {
			due := tr.Due(o, now)
			dueTotal += len(due)
			for _, d := range due {
				tr.Record(o, d, goodAnswer(now), now)
			}
			tr.Stats(o, now, 15*time.Minute)
		}
	}
	b.ReportMetric(float64(dueTotal)/float64(b.N)/origins, "asked/origin-pass")
	b.ReportMetric(float64(tr.Len()), "tracked")
}

func goodAnswer(at time.Time) ocsp.Outcome {
	return ocsp.Outcome{Result: ocsp.ResultGood, ThisUpdate: at, NextUpdate: at.Add(96 * time.Hour), Digest: 1}
}
