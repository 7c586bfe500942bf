package crl

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// parseSerial reads a serial as a revocations query returns it:
//   - text: decimal digits, or hex when it starts with 0x, holds a-f, or is
//     colon-separated (so an all-digit hex serial needs the 0x prefix);
//   - bytea: the serial's big-endian bytes;
//   - an integer or numeric column: the number.
func parseSerial(v any) (*big.Int, error) {
	switch s := v.(type) {
	case string:
		return parseSerialText(s)
	case []byte:
		if len(s) == 0 {
			return nil, errors.New("empty serial")
		}
		return new(big.Int).SetBytes(s), nil
	case int64:
		return big.NewInt(s), nil
	case int32:
		return big.NewInt(int64(s)), nil
	case pgtype.Numeric:
		return numericSerial(s)
	}
	return nil, fmt.Errorf("serial column is %T; want text, bytea or a number", v)
}

// numericSerial reads a numeric column: Int × 10^Exp, a whole number.
func numericSerial(n pgtype.Numeric) (*big.Int, error) {
	if !n.Valid || n.NaN || n.InfinityModifier != pgtype.Finite || n.Int == nil {
		return nil, errors.New("serial is not a finite number")
	}
	v := new(big.Int).Set(n.Int)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil)
	if n.Exp >= 0 {
		v.Mul(v, scale)
	} else if _, rem := v.QuoRem(v, scale, new(big.Int)); rem.Sign() != 0 {
		return nil, errors.New("serial is not a whole number")
	}
	if v.Sign() < 0 {
		return nil, errors.New("serial is negative")
	}
	return v, nil
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func parseSerialText(s string) (*big.Int, error) {
	s = strings.TrimSpace(s)
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case strings.Contains(s, ":"):
		s, base = strings.ReplaceAll(s, ":", ""), 16
	case strings.ContainsAny(s, "abcdefABCDEF"):
		base = 16
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("serial %q is neither decimal nor hex", s)
	}
	return n, nil
}

// reasonCode maps RFC 5280's CRLReason names to their codes.
func reasonCode(name string) (int, bool) {
	switch strings.ToLower(name) {
	case "unspecified":
		return 0, true
	case "keycompromise":
		return 1, true
	case "cacompromise":
		return 2, true
	case "affiliationchanged":
		return 3, true
	case "superseded":
		return 4, true
	case "cessationofoperation":
		return 5, true
	case "certificatehold":
		return 6, true
	case "removefromcrl":
		return 8, true
	case "privilegewithdrawn":
		return 9, true
	case "aacompromise":
		return 10, true
	}
	return 0, false
}

// parseReason reads a reason code as a number or an RFC 5280 name; NULL is
// unspecified.
func parseReason(v any) (int, error) {
	switch r := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return int(r), nil
	case int32:
		return int(r), nil
	case int16:
		return int(r), nil
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(r)); err == nil {
			return n, nil
		}
		if n, ok := reasonCode(strings.TrimSpace(r)); ok {
			return n, nil
		}
		return 0, fmt.Errorf("reason %q is not a CRLReason code or name", r)
	}
	return 0, fmt.Errorf("reason column is %T; want a number or text", v)
}
