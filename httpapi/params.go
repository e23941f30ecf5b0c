package httpapi

import (
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/qiuai/parking/occupancy"
)

// Query parameters are parsed strictly: a parameter given twice, a number
// with anything but decimal digits, sign, point and exponent (no hex, no
// "Inf", no "NaN"), or one out of range is an EINVALID error that names the
// parameter. An empty value counts as absent.

// maxParamLen bounds the length of a parameter value echoed in an error.
const maxParamLen = 40

// param returns the single value of name and whether it is present.
func param(v url.Values, name string) (string, bool, error) {
	vals := v[name]
	switch {
	case len(vals) == 0 || len(vals) == 1 && vals[0] == "":
		return "", false, nil
	case len(vals) > 1:
		return "", false, occupancy.Errorf(occupancy.EINVALID, "%s is given more than once", name)
	}
	return vals[0], true, nil
}

// floatParam parses name as a finite decimal number; def is used when the
// parameter is absent. required makes an absent parameter an error.
func floatParam(v url.Values, name string, def float64, required bool) (float64, error) {
	s, ok, err := param(v, name)
	if err != nil {
		return 0, err
	} else if !ok && required {
		return 0, occupancy.Errorf(occupancy.EINVALID, "%s is required", name)
	} else if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if len(s) > maxParamLen || strings.Trim(s, "0123456789.+-eE") != "" || err != nil ||
		math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, occupancy.Errorf(occupancy.EINVALID, "%s %q is not a decimal number", name, truncate(s, maxParamLen))
	}
	return f, nil
}

// intParam parses name as a whole number within lo..hi; def is used when
// the parameter is absent.
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s, ok, err := param(v, name)
	if err != nil {
		return 0, err
	} else if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil && !isRangeErr(err) {
		return 0, occupancy.Errorf(occupancy.EINVALID, "%s %q is not a whole number", name, truncate(s, maxParamLen))
	}
	if err != nil || n < lo || n > hi {
		return 0, occupancy.Errorf(occupancy.EINVALID, "%s must be %d-%d", name, lo, hi)
	}
	return n, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
