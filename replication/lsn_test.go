package replication

import (
	"fmt"
	"testing"
)

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]LSN{
		"0/0":               0,
		"16/B374D848":       0x16B374D848,
		"FFFFFFFF/FFFFFFFF": LSN(^uint64(0)),
		"0/3000148":         0x3000148,
	} {
		got, err := ParseLSN(in)
		if err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("LSN(%#x).String() = %q, want %q", uint64(got), got.String(), in)
		}
	}
	for _, bad := range []string{"", "0", "/1", "1/", "G/0", "1/2/3", "100000000/0", "-1/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

func TestMinusIsExactAndClamped(t *testing.T) {
	a, b := LSN(1<<62+7), LSN(1<<62+2)
	if got := a.Minus(b); got != 5 {
		t.Errorf("a-b = %d, want 5 (exact uint64, no float rounding)", got)
	}
	if got := b.Minus(a); got != 0 {
		t.Errorf("b-a = %d, want 0", got)
	}
}

func TestSegmentNames(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name    string
		segSize uint64
		tli     uint32
		start   LSN
	}{
		{"000000010000000000000001", 16 * mib, 1, 0x1000000},
		{"0000000100000016000000B3", 16 * mib, 1, 0x16B3000000},
		{"0000000300000016000000B3", 16 * mib, 3, 0x16B3000000},
		{"000000010000000000000003", 64 * mib, 1, 0xC000000},
		{"0000000A000000050000003F", 64 * mib, 10, 0x5FC000000},
		{"00000002000000010000000000", 0, 0, 0}, // wrong length
	}
	for _, tc := range cases[:5] {
		tli, start, err := ParseSegmentName(tc.name, tc.segSize)
		if err != nil || tli != tc.tli || start != tc.start {
			t.Errorf("ParseSegmentName(%s, %d) = %d, %v, %v; want %d, %v", tc.name, tc.segSize, tli, start, err, tc.tli, tc.start)
		}
		// Any LSN inside the segment maps back to the same name.
		for _, off := range []uint64{0, 1, tc.segSize - 1} {
			if got := segmentName(tc.tli, tc.start+LSN(off), tc.segSize); got != tc.name {
				t.Errorf("segmentName(%d, %v+%d) = %s, want %s", tc.tli, tc.start, off, got, tc.name)
			}
		}
		if got := SegmentStart(tc.start+LSN(tc.segSize/2), tc.segSize); got != tc.start {
			t.Errorf("SegmentStart = %v, want %v", got, tc.start)
		}
	}
	// 64 MiB segments: only 64 per 4 GiB, so segment 0x40 does not exist.
	for _, bad := range []struct {
		name string
		size uint64
	}{{"000000010000000000000040", 64 << 20}, {"00000001000000000000000G", 16 << 20}, {"000000010000000000000001", 3 << 20}, {cases[5].name, 16 << 20}} {
		if _, _, err := ParseSegmentName(bad.name, bad.size); err == nil {
			t.Errorf("ParseSegmentName(%s, %d) accepted", bad.name, bad.size)
		}
	}
}

// segmentName is the WAL file name holding l on timeline tli.
func segmentName(tli uint32, l LSN, segSize uint64) string {
	segNo := uint64(l) / segSize
	per := segmentsPerXLogID(segSize)
	return fmt.Sprintf("%08X%08X%08X", tli, segNo/per, segNo%per)
}

// The last archived file: a segment counts whole, a promotion's partial
// segment only to its start, a .history file not at all.
func TestArchivedEnd(t *testing.T) {
	const seg = 16 << 20
	for name, want := range map[string]LSN{
		"000000010000000000000003":         0x4000000,
		"000000010000000000000003.partial": 0x3000000,
		"00000002.history":                 0,
	} {
		got, ok := archivedEnd(name, seg)
		if got != want || ok != (want != 0) {
			t.Errorf("archivedEnd(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
}
