package passhash

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// aspnetFormat is ASP.NET Core Identity's PasswordHasher output, standard base64 of:
//   - v2 (marker 0x00): a 16-byte salt and a 32-byte PBKDF2-HMAC-SHA1 key, 1000 iterations
//     (also ASP.NET Identity 2 on .NET Framework);
//   - v3 (marker 0x01): PRF (0 SHA-1, 1 SHA-256, 2 SHA-512), iteration count and salt
//     length as big-endian uint32, then the salt and the key (10,000 × SHA-256 up to .NET 6,
//     100,000 × SHA-512 from .NET 7).
//
// The password is hashed as UTF-8.
type aspnetFormat struct {
	v3      bool
	prf     uint32
	iter    int
	saltLen int
	keyLen  int
}

var aspnetPRFs = []string{"sha1", "sha256", "sha512"}

const (
	aspnetV2Iter   = 1000
	aspnetV2Salt   = 16
	aspnetV2Key    = 32
	aspnetV3Header = 13
)

func (f aspnetFormat) digest() string {
	if !f.v3 {
		return "sha1"
	}
	return aspnetPRFs[f.prf]
}

func (f aspnetFormat) describe() Info {
	info := Info{
		Scheme:   "aspnet-identity",
		Variant:  "v2 (0x00)",
		Params:   fmt.Sprintf("PBKDF2-HMAC-%s iterations=%d salt=%d bytes key=%d bytes", strings.ToUpper(f.digest()), f.iter, f.saltLen, f.keyLen),
		Writable: true,
		Note:     "ASP.NET Identity v2 format (IdentityV2 compatibility mode, or ASP.NET Identity 2 on .NET Framework): its 1000 iterations are fixed by the format and far below current advice",
	}
	if f.v3 {
		info.Variant = "v3 (0x01)"
		info.Note = pbkdf2Note(f.digest(), f.iter)
	}
	return info
}

func (f aspnetFormat) maxPassword() int { return MaxPasswordBytes }

func (f aspnetFormat) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	key, err := pbkdf2KeyLen(f.digest(), password, salt, f.iter, f.keyLen)
	if err != nil {
		return "", fmt.Errorf("aspnet identity: %w", err)
	}
	var out []byte
	if f.v3 {
		out = append([]byte{1}, binary.BigEndian.AppendUint32(nil, f.prf)...)
		out = binary.BigEndian.AppendUint32(out, uint32(f.iter))
		out = binary.BigEndian.AppendUint32(out, uint32(f.saltLen))
	} else {
		out = []byte{0}
	}
	out = append(append(out, salt...), key...)
	return base64.StdEncoding.EncodeToString(out), nil
}

// parseASPNet recognises a base64 string with an Identity marker and a consistent layout; ok
// is false otherwise.
func parseASPNet(s string, lim *limits) (p *parsed, err error, ok bool) {
	if len(s) < 64 || len(s)%4 != 0 || isHex(s) {
		// A hex digest is also valid base64; it is never an Identity hash.
		return nil, nil, false
	}
	raw, derr := base64.StdEncoding.Strict().DecodeString(s)
	if derr != nil {
		return nil, nil, false
	}
	var f aspnetFormat
	var salt, want []byte
	switch {
	case raw[0] == 0 && len(raw) == 1+aspnetV2Salt+aspnetV2Key:
		f = aspnetFormat{iter: aspnetV2Iter, saltLen: aspnetV2Salt, keyLen: aspnetV2Key}
		salt, want = raw[1:1+aspnetV2Salt], raw[1+aspnetV2Salt:]
	case raw[0] == 1 && len(raw) >= aspnetV3Header+32:
		prf := binary.BigEndian.Uint32(raw[1:])
		iter := binary.BigEndian.Uint32(raw[5:])
		saltLen := binary.BigEndian.Uint32(raw[9:])
		// .NET refuses salts and keys under 128 bits.
		if prf > 2 || iter < 1 || saltLen < 16 || uint64(saltLen)+16 > uint64(len(raw)-aspnetV3Header) {
			return nil, malformed("aspnet-identity", "a bad v3 header"), true
		}
		if iter > uint32(lim.pbkdf2Iter) {
			return nil, tooExpensive("aspnet-identity", fmt.Sprintf("iterations %d > %d", iter, lim.pbkdf2Iter)), true
		}
		rest := raw[aspnetV3Header:]
		f = aspnetFormat{v3: true, prf: prf, iter: int(iter), saltLen: int(saltLen), keyLen: len(rest) - int(saltLen)}
		salt, want = rest[:saltLen], rest[saltLen:]
	default:
		return nil, nil, false
	}
	return &parsed{info: f.describe(), writer: f, check: func(pw []byte) (bool, error) {
		got, err := pbkdf2KeyLen(f.digest(), pw, salt, f.iter, f.keyLen)
		if err != nil {
			return false, err
		}
		return equal(got, want), nil
	}}, nil, true
}
