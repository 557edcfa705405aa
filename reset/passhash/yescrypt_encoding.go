package passhash

import "strings"

// yescrypt's two base-64 encodings, both over crypt's alphabet "./0-9A-Za-z": bytes in groups
// of three, least significant six bits first (crypt64LE), and the variable-length unsigned
// integers of its parameters, where the first character's value says how many follow.

// crypt64LE encodes b three bytes (24 bits, four characters) at a time, a last group of one
// or two bytes giving two or three characters.
func crypt64LE(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for k := range n {
			v |= uint32(b[i+k]) << (8 * k)
		}
		for bits := 0; bits < 8*n; bits += 6 {
			out.WriteByte(crypt64[v&0x3f])
			v >>= 6
		}
	}
	return out.String()
}

// decodeCrypt64LE inverts crypt64LE, refusing what libxcrypt's decoder refuses: a lone
// character, characters outside the alphabet, and set bits beyond the last whole byte.
func decodeCrypt64LE(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s)*3/4)
	for i := 0; i < len(s); i += 4 {
		chunk := s[i:min(i+4, len(s))]
		if len(chunk) == 1 {
			return nil, false
		}
		var v uint32
		for k := range len(chunk) {
			c := strings.IndexByte(crypt64, chunk[k])
			if c < 0 {
				return nil, false
			}
			v |= uint32(c) << (6 * k)
		}
		n := len(chunk) * 6 / 8
		for range n {
			out = append(out, byte(v))
			v >>= 8
		}
		if v != 0 {
			return nil, false
		}
	}
	return out, true
}

// decodeUint reads one variable-length integer at the start of s, at least min: a first
// character below 48 is the value alone; larger ones open ranges that add one, two, …
// further characters of six bits each.
func decodeUint(s string, min uint32) (uint32, string, bool) {
	if s == "" {
		return 0, s, false
	}
	c := strings.IndexByte(crypt64, s[0])
	if c < 0 {
		return 0, s, false
	}
	s = s[1:]
	start, end, chars, bits := uint32(0), uint32(47), 1, uint(0)
	v := uint64(min)
	for uint32(c) > end {
		v += uint64(end+1-start) << bits
		start = end + 1
		end = start + (62-end)/2
		chars++
		bits += 6
	}
	v += uint64(uint32(c)-start) << bits
	for ; chars > 1; chars-- {
		if s == "" {
			return 0, s, false
		}
		d := strings.IndexByte(crypt64, s[0])
		if d < 0 {
			return 0, s, false
		}
		s = s[1:]
		bits -= 6
		v += uint64(d) << bits
	}
	if v > 1<<32-1 {
		return 0, s, false
	}
	return uint32(v), s, true
}

// encodeUint is decodeUint's inverse; v ≥ min.
func encodeUint(v, min uint32) string {
	x := uint64(v - min)
	start, end, chars, bits := uint64(0), uint64(47), 1, uint(0)
	for {
		count := (end + 1 - start) << bits
		if x < count {
			break
		}
		x -= count
		start = end + 1
		end = start + (62-end)/2
		chars++
		bits += 6
	}
	out := []byte{crypt64[start+x>>bits]}
	for ; chars > 1; chars-- {
		bits -= 6
		out = append(out, crypt64[x>>bits&0x3f])
	}
	return string(out)
}

// yescryptParams are the fields of a "$y$" setting.
type yescryptParams struct {
	flavour, nLog2, r, p, t, g, nromLog2 uint32
}

// decodeYescryptParams reads PARAMS: flavour, log2 N, r, and, when more follows, a bit set
// naming which of p (1), t (2), g (4) and log2 NROM (8) come next.
func decodeYescryptParams(s string) (yescryptParams, bool) {
	v := yescryptParams{p: 1}
	var ok bool
	if v.flavour, s, ok = decodeUint(s, 0); !ok {
		return v, false
	}
	if v.nLog2, s, ok = decodeUint(s, 1); !ok || v.nLog2 > 63 {
		return v, false
	}
	if v.r, s, ok = decodeUint(s, 1); !ok {
		return v, false
	}
	if s != "" {
		var have uint32
		if have, s, ok = decodeUint(s, 1); !ok || have > 15 {
			return v, false
		}
		fields := []struct {
			bit uint32
			dst *uint32
			min uint32
		}{{1, &v.p, 2}, {2, &v.t, 1}, {4, &v.g, 1}, {8, &v.nromLog2, 1}}
		for _, fl := range fields {
			if have&fl.bit != 0 {
				if *fl.dst, s, ok = decodeUint(s, fl.min); !ok {
					return v, false
				}
			}
		}
	}
	return v, s == ""
}

// encodeYescryptParams writes PARAMS for libxcrypt's flavour, as libxcrypt's encoder does.
func encodeYescryptParams(nLog2, r, p, t uint32) string {
	s := encodeUint(yescryptFlavourJ, 0) + encodeUint(nLog2, 1) + encodeUint(r, 1)
	var have uint32
	if p != 1 {
		have |= 1
	}
	if t != 0 {
		have |= 2
	}
	if have != 0 {
		s += encodeUint(have, 1)
		if p != 1 {
			s += encodeUint(p, 2)
		}
		if t != 0 {
			s += encodeUint(t, 1)
		}
	}
	return s
}
