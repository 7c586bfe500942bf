package ocsp

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cacheable reports whether HTTP headers let a shared cache keep an answer:
// what turned an origin's brief "unauthorized" into days of it at the CDN.
func Cacheable(h http.Header, now time.Time) bool {
	cc := h.Values("Cache-Control")
	if len(cc) == 0 {
		exp, err := http.ParseTime(h.Get("Expires"))
		return err == nil && exp.After(now)
	}
	maxAge, sMaxAge := -1, -1
	for _, line := range cc {
		for _, d := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(strings.ToLower(d)), "=")
			switch name {
			case "no-store", "no-cache", "private":
				return false
			case "max-age":
				maxAge = atoiOr(val, -1)
			case "s-maxage":
				sMaxAge = atoiOr(val, -1)
			}
		}
	}
	if sMaxAge >= 0 {
		return sMaxAge > 0
	}
	return maxAge > 0
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.Trim(s, `"`))
	if err != nil {
		return def
	}
	return n
}
