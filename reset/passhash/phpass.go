package passhash

import (
	"crypto/md5"
	"crypto/sha512"
	"fmt"
	"strings"
)

// phpassFormat is the "portable" hash of Solar Designer's phpass, as WordPress before 6.8
// ("$P$"), phpBB 3.0 ("$H$") and Drupal 7 ("$S$", SHA-512 instead of MD5) write it:
// "$P$" + one crypt64 character for log2 of the iteration count + 8 salt characters + the
// encoded digest. The digest is MD5(salt+password) re-hashed as MD5(digest+password)
// 2^count times. Drupal keeps only the first 55 characters of a "$S$" hash.
type phpassFormat struct {
	id      byte // 'P', 'H' or 'S'
	log2    int
	saltLen int // always 8; kept to describe the salt like other formats
}

const (
	phpassLog2Min = 7  // phpass and Drupal refuse fewer
	phpassLog2Max = 30 // and more
	drupalLength  = 55 // DRUPAL_HASH_LENGTH
)

func (f phpassFormat) describe() Info {
	info := Info{
		Scheme:   "phpass",
		Variant:  "$" + string(f.id) + "$",
		Params:   fmt.Sprintf("iterations=2^%d salt=%d chars", f.log2, f.saltLen),
		Writable: true,
		Note:     "phpass portable hash (WordPress before 6.8, which 6.8+ still verifies; phpBB 3.0; apps using the PasswordHash class): iterated MD5, cheap to guess offline",
	}
	if f.id == 'H' {
		info.Note = "phpBB 3.0's name for the phpass portable hash: iterated MD5, cheap to guess offline"
	}
	if f.id == 'S' {
		info.Scheme = "drupal7"
		info.Note = "Drupal 7's user_hash_password (iterated SHA-512)"
	}
	return info
}

func (f phpassFormat) maxPassword() int { return MaxPasswordBytes }

func (f phpassFormat) sum(password, salt []byte) []byte {
	count := 1 << f.log2
	if f.id == 'S' {
		d := sha512.Sum512(append(append([]byte(nil), salt...), password...))
		buf := make([]byte, 0, len(d)+len(password))
		for ; count > 0; count-- {
			d = sha512.Sum512(append(append(buf[:0], d[:]...), password...))
		}
		return d[:]
	}
	d := md5.Sum(append(append([]byte(nil), salt...), password...))
	buf := make([]byte, 0, len(d)+len(password))
	for ; count > 0; count-- {
		d = md5.Sum(append(append(buf[:0], d[:]...), password...))
	}
	return d[:]
}

func (f phpassFormat) encode(password, salt []byte) string {
	out := "$" + string(f.id) + "$" + string(crypt64[f.log2]) + string(salt) + phpassEncode64(f.sum(password, salt))
	if f.id == 'S' && len(out) > drupalLength {
		out = out[:drupalLength]
	}
	return out
}

func (f phpassFormat) hash(password []byte) (string, error) {
	return f.encode(password, randomText(8, crypt64)), nil
}

// phpassEncode64 is phpass's encode64: little-endian groups of three bytes, six bits at a
// time, in the crypt64 alphabet, a short last group giving two or three characters.
func phpassEncode64(in []byte) string {
	var b strings.Builder
	for i := 0; i < len(in); i += 3 {
		v := uint(in[i])
		n := 2
		if i+1 < len(in) {
			v |= uint(in[i+1]) << 8
			n = 3
		}
		if i+2 < len(in) {
			v |= uint(in[i+2]) << 16
			n = 4
		}
		for j := 0; j < n; j++ {
			b.WriteByte(crypt64[v&0x3f])
			v >>= 6
		}
	}
	return b.String()
}

func parsePhpass(s string, lim *limits) (*parsed, error) {
	id := s[1]
	name := "phpass"
	want := 12 + 22 // setting + MD5 in 22 characters
	if id == 'S' {
		name, want = "drupal7", drupalLength
	}
	if len(s) != want || s[2] != '$' || !allIn(s[3:], crypt64) {
		return nil, malformed(name, "the wrong length or alphabet")
	}
	f := phpassFormat{id: id, log2: strings.IndexByte(crypt64, s[3]), saltLen: 8}
	if f.log2 < phpassLog2Min || f.log2 > phpassLog2Max {
		return nil, malformed(name, "an iteration count outside 2^7..2^30")
	}
	if f.log2 > lim.phpassLog2 {
		return nil, tooExpensive(name, fmt.Sprintf("iterations 2^%d > 2^%d", f.log2, lim.phpassLog2))
	}
	salt := []byte(s[4:12])
	stored := s
	return &parsed{info: f.describe(), writer: f, check: func(pw []byte) (bool, error) {
		return equal([]byte(f.encode(pw, salt)), []byte(stored)), nil
	}}, nil
}
