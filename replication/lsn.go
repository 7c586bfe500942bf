// Package probes holds certstatus_exporter's probes. Each returns a typed
// result; failures carry a bounded reason for a metric label.
package replication

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL WAL position: a byte offset into the WAL stream.
type LSN uint64

// ParseLSN reads PostgreSQL's text form, "16/B374D848".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q", s)
	}
	return LSN(h<<32 | l), nil
}

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Minus is a − b in bytes, 0 when b is ahead (the two were read at slightly
// different moments).
func (l LSN) Minus(b LSN) uint64 {
	if b >= l {
		return 0
	}
	return uint64(l - b)
}

// SegmentStart is the LSN at which the WAL segment holding l begins.
func SegmentStart(l LSN, segSize uint64) LSN { return l - LSN(uint64(l)%segSize) }

// ParseSegmentName reads a WAL file name (TTTTTTTTXXXXXXXXYYYYYYYY: timeline,
// then the LSN's high 32 bits, then the segment within them) into its
// timeline and starting LSN.
func ParseSegmentName(name string, segSize uint64) (uint32, LSN, error) {
	if len(name) != 24 || !validSegSize(segSize) {
		return 0, 0, fmt.Errorf("invalid WAL segment name %q (segment size %d)", name, segSize)
	}
	tli, err1 := strconv.ParseUint(name[0:8], 16, 32)
	log, err2 := strconv.ParseUint(name[8:16], 16, 32)
	seg, err3 := strconv.ParseUint(name[16:24], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || seg >= segmentsPerXLogID(segSize) {
		return 0, 0, fmt.Errorf("invalid WAL segment name %q (segment size %d)", name, segSize)
	}
	return uint32(tli), LSN(log<<32 + seg*segSize), nil
}

func segmentsPerXLogID(segSize uint64) uint64 { return 0x100000000 / segSize }

// validSegSize: PostgreSQL allows powers of two from 1 MiB to 1 GiB.
func validSegSize(s uint64) bool { return s >= 1<<20 && s <= 1<<30 && s&(s-1) == 0 }
