package pgconn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ServerVersion is the server's version as server_version_num reads it
// (170010 for 17.10). The server reports server_version when the connection
// starts, so knowing it costs no query.
func ServerVersion(conn *pgx.Conn) (int, error) {
	return ParseServerVersion(conn.PgConn().ParameterStatus("server_version"))
}

// ParseServerVersion parses server_version ("17.10", "15.8 (Debian 15.8-0+deb12u1)",
// "18beta1") into the server_version_num form. Only 10 and later are
// understood: their major version is the first number.
func ParseServerVersion(v string) (int, error) {
	num := func(s string) (int, string) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, _ := strconv.Atoi(s[:i])
		return n, s[i:]
	}
	major, rest := num(strings.TrimSpace(v))
	if major < 10 {
		return 0, fmt.Errorf("cannot read server_version %q", v)
	}
	minor := 0
	if strings.HasPrefix(rest, ".") {
		minor, _ = num(rest[1:])
	}
	return major*10000 + minor, nil
}

// RequireVersion fails with ReasonUnsupportedVersion when the server is
// older than minMajor.
func RequireVersion(version, minMajor int) error {
	if version/10000 < minMajor {
		return &ProbeError{ReasonUnsupportedVersion,
			fmt.Errorf("PostgreSQL %d.%d is not supported: %d or later is needed", version/10000, version%10000, minMajor)}
	}
	return nil
}
