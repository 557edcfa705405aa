package contrast

import (
	"math"
	"testing"
)

func TestRatio(t *testing.T) {
	white, black := MustParse("#ffffff"), MustParse("#000000")
	for _, c := range []struct {
		fg, bg string
		want   float64 // WCAG 2.x ratios to two decimals (as WebAIM's checker shows them)
		aa     bool
	}{
		{"#000000", "#ffffff", 21, true},
		{"#ffffff", "#ffffff", 1, false},
		{"#767676", "#ffffff", 4.54, true}, // the lightest grey that passes AA on white
		{"#777777", "#ffffff", 4.48, false},
		{"#ffffff", "#767676", 4.54, true}, // the order does not matter
		{"#0b5fff", "#ffffff", 5.13, true},
		{"#1a56db", "#ffffff", 6.18, true}, // resetgate's own accent
		{"#ff0000", "#ffffff", 4.00, false},
		{"#00f", "#fff", 8.59, true},
		{"#595959", "#ffffff", 7.00, true},
	} {
		got := Ratio(MustParse(c.fg), MustParse(c.bg))
		if math.Abs(got-c.want) > 0.005 {
			t.Errorf("Ratio(%s, %s) = %.3f, want %.2f", c.fg, c.bg, got, c.want)
		}
		if (got >= AA) != c.aa {
			t.Errorf("Ratio(%s, %s) = %.3f passes AA: %v, want %v", c.fg, c.bg, got, got >= AA, c.aa)
		}
	}
	if r := Ratio(black, white); r != 21 {
		t.Errorf("Ratio(black, white) = %v, want exactly 21", r)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"", "0b5fff", "#0b5ff", "#0b5fffa", "#gggggg", "red", "#-12345", "#+12345"} {
		if c, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, c)
		}
	}
	if c := MustParse("#0B5FFF"); c != (Color{0x0b, 0x5f, 0xff}) || c.String() != "#0b5fff" {
		t.Errorf("MustParse(#0B5FFF) = %v (%s)", c, c)
	}
	if c := MustParse("#abc"); c != (Color{0xaa, 0xbb, 0xcc}) {
		t.Errorf("MustParse(#abc) = %v", c)
	}
}

func TestDarken(t *testing.T) {
	c := MustParse("#0b5fff")
	if d := c.Darken(0.15); Ratio(d, MustParse("#ffffff")) <= Ratio(c, MustParse("#ffffff")) {
		t.Errorf("Darken(0.15) of %s = %s, which does not gain contrast on white", c, d)
	}
	if d := c.Darken(1); d != (Color{}) {
		t.Errorf("Darken(1) = %s, want black", d)
	}
}
