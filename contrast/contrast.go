// Package contrast computes the WCAG 2.x contrast ratio of two sRGB colours, so that a
// configured accent colour can be refused before users have to read it. It imports only the
// standard library; web names the colour pairs its pages use, main reports the result.
package contrast

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// AA is the smallest ratio WCAG 2.x success criterion 1.4.3 (level AA) allows for normal text.
const AA = 4.5

// Color is an sRGB colour with 8 bits per channel.
type Color struct{ R, G, B uint8 }

// Parse reads "#rrggbb" or "#rgb" (either case).
func Parse(s string) (Color, error) {
	hex, ok := strings.CutPrefix(s, "#")
	if ok && len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	if !ok || len(hex) != 6 {
		return Color{}, fmt.Errorf("%q is not a colour written as \"#rrggbb\" or \"#rgb\"", s)
	}
	n, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return Color{}, fmt.Errorf("%q is not a colour written as \"#rrggbb\" or \"#rgb\"", s)
	}
	return Color{uint8(n >> 16), uint8(n >> 8), uint8(n)}, nil
}

// MustParse is [Parse] for constants; it panics on a malformed colour.
func MustParse(s string) Color {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// String is the colour as "#rrggbb".
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Luminance is the relative luminance of WCAG 2.x: 0 for black, 1 for white.
func (c Color) Luminance() float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		// WCAG 2.x's threshold is 0.03928 (sRGB's own is 0.04045; no 8-bit value lies between).
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Ratio is the contrast ratio of a and b, from 1 (none) to 21 (black on white), in either order.
func Ratio(a, b Color) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Darken mixes c with black: f = 0 keeps c, f = 1 is black. A darker colour only gains
// contrast against white.
func (c Color) Darken(f float64) Color {
	m := func(v uint8) uint8 { return uint8(math.Round(float64(v) * (1 - f))) }
	return Color{m(c.R), m(c.G), m(c.B)}
}
