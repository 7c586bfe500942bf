package canary

import (
	"math/big"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/ocsp"
)

// Each transition is reported once: overdue when the SLA passes without an
// authoritative answer, recovered when one comes; young ones never.
func TestOverdueChangesOncePerTransition(t *testing.T) {
	const sla = 15 * time.Minute
	tr := NewTracker(2, 10)
	tr.Add(IssuedCert{Serial: big.NewInt(0xa1), IssuedAt: t0, Kind: KindPrecertificate})
	tr.Add(IssuedCert{Serial: big.NewInt(0xb2), IssuedAt: t0.Add(10 * time.Minute), Kind: KindCertificate})
	unknown := ocsp.Outcome{Result: ocsp.ResultUnknown}
	tr.Record(0, due(0xa1), unknown, t0.Add(time.Minute))
	tr.Record(0, due(0xb2), unknown, t0.Add(11*time.Minute))

	now := t0.Add(20 * time.Minute) // a1 past the SLA, b2 not yet
	ch, more := tr.OverdueChanges(0, now, sla, 10)
	if len(ch) != 1 || more != 0 || ch[0].Serial.Int64() != 0xa1 || ch[0].Recovered || ch[0].Result != ocsp.ResultUnknown ||
		ch[0].Kind != KindPrecertificate || !ch[0].IssuedAt.Equal(t0) {
		t.Fatalf("first pass: %+v (+%d), want a1 overdue with result unknown", ch, more)
	}
	if ch, _ := tr.OverdueChanges(0, now, sla, 10); len(ch) != 0 {
		t.Errorf("a1 reported overdue twice: %+v", ch)
	}
	if ch, _ := tr.OverdueChanges(1, now, sla, 10); len(ch) != 1 || ch[0].Result != ocsp.ResultNone {
		t.Errorf("origin 1 never answered a1: %+v, want it overdue there too with no result", ch)
	}

	tr.Record(0, due(0xa1), good(now), now.Add(time.Minute))
	later := t0.Add(30 * time.Minute) // b2 past the SLA too
	ch, _ = tr.OverdueChanges(0, later, sla, 10)
	if len(ch) != 2 {
		t.Fatalf("after a1's good answer and b2 passing the SLA: %+v", ch)
	}
	for _, c := range ch {
		if c.Serial.Int64() == 0xa1 && (!c.Recovered || c.Result != ocsp.ResultGood) ||
			c.Serial.Int64() == 0xb2 && c.Recovered {
			t.Errorf("change %+v: want a1 recovered (good), b2 overdue", c)
		}
	}
	if ch, _ := tr.OverdueChanges(0, later, sla, 10); len(ch) != 0 {
		t.Errorf("changes reported twice: %+v", ch)
	}
}

// Past the limit, changes are counted, marked, and not returned again.
func TestOverdueChangesBounded(t *testing.T) {
	tr := NewTracker(1, 10)
	for s := int64(1); s <= 5; s++ {
		tr.Add(IssuedCert{Serial: big.NewInt(s), IssuedAt: t0})
	}
	ch, more := tr.OverdueChanges(0, t0.Add(time.Hour), time.Minute, 2)
	if len(ch) != 2 || more != 3 {
		t.Fatalf("%d changes +%d more, want 2 +3", len(ch), more)
	}
	if ch, more := tr.OverdueChanges(0, t0.Add(time.Hour), time.Minute, 2); len(ch) != 0 || more != 0 {
		t.Errorf("second call: %d +%d, want nothing new", len(ch), more)
	}
}
