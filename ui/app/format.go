package app

import (
	"fmt"
	"math"
	"strconv"
)

// Human writes a count the way papers do: 4.7M, 37.7M, 175.3B, 114K.
func Human(n int64) string {
	f := float64(n)
	switch {
	case math.Abs(f) >= 1e9:
		return strconv.FormatFloat(f/1e9, 'f', 1, 64) + "B"
	case math.Abs(f) >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 1, 64) + "M"
	case math.Abs(f) >= 1e4:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// Grouped writes an exact count with thin separators: 4,718,592.
func Grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Bytes writes a size in binary units: 18.0 KiB, 2.6 GiB.
func Bytes(n int64) string {
	f := float64(n)
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// Loss writes a loss to 3 decimals, or an em dash before there is one.
func Loss(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// Percent writes a ratio as a percentage with enough digits to be nonzero.
func Percent(part, whole int64) string {
	if whole == 0 {
		return "—"
	}
	p := 100 * float64(part) / float64(whole)
	switch {
	case p >= 10:
		return fmt.Sprintf("%.1f%%", p)
	case p >= 0.01:
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.4f%%", p)
}
