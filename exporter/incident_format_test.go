package exporter

import (
	"math"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12*time.Minute + 30*time.Second: "12m30s",
		5*time.Hour + 12*time.Minute + 40*time.Second: "5h12m", 14*24*time.Hour + 3*time.Hour: "14d3h",
	} {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
	for b, want := range map[float64]string{0: "0 B", 1512: "1.5 KiB", 16 << 20: "16.0 MiB", math.Inf(1): "unlimited"} {
		if got := iec(b); got != want {
			t.Errorf("iec(%v) = %q, want %q", b, got, want)
		}
	}
	if got := seconds(math.Inf(1)); got != "∞" {
		t.Errorf("seconds(+Inf) = %q", got)
	}
}

func TestNumberJSON(t *testing.T) {
	for f, want := range map[float64]string{1.5: "1.5", math.Inf(1): `"+Inf"`, math.Inf(-1): `"-Inf"`, 1 << 40: "1099511627776"} {
		b, err := number(f).MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("number(%v) = %s, %v; want %s", f, b, err, want)
		}
	}
}
