package pgconn

import "testing"

func TestParseServerVersion(t *testing.T) {
	for in, want := range map[string]int{
		"17.10": 170010, "13.23": 130023, "15.8 (Debian 15.8-0+deb12u1)": 150008,
		"18beta1": 180000, "12.22": 120022, "10.5": 100005,
	} {
		if got, err := ParseServerVersion(in); err != nil || got != want {
			t.Errorf("ParseServerVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "9.6.24", "x"} {
		if _, err := ParseServerVersion(bad); err == nil {
			t.Errorf("ParseServerVersion(%q) accepted", bad)
		}
	}
}

func TestRequireVersion(t *testing.T) {
	if err := RequireVersion(130000, 13); err != nil {
		t.Errorf("13.0 rejected: %v", err)
	}
	err := RequireVersion(120022, 13)
	if err == nil || Reason(err) != ReasonUnsupportedVersion {
		t.Fatalf("12.22: err %v reason %q, want %s", err, Reason(err), ReasonUnsupportedVersion)
	}
	if got := err.Error(); got != "PostgreSQL 12.22 is not supported: 13 or later is needed" {
		t.Errorf("message %q", got)
	}
}
