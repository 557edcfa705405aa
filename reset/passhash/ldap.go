package passhash

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
)

// ldapSalted is RFC 2307-style "{SSHA}BASE64(DIGEST(password+salt)+salt)" and its SHA-2
// siblings {SSHA256}, {SSHA384}, {SSHA512}.
type ldapSalted struct {
	label   string // as stored, e.g. "{SSHA}" or "{ssha512}"
	digest  string
	saltLen int
}

func (f ldapSalted) describe() Info {
	return Info{
		Scheme:   "ldap-ssha",
		Variant:  f.label,
		Params:   fmt.Sprintf("salt=%d bytes", f.saltLen),
		Writable: true,
		Note:     "one fast salted SHA: offline guessing is cheap; prefer a slow scheme if the app can verify one",
	}
}

func (f ldapSalted) maxPassword() int { return MaxPasswordBytes }

func (f ldapSalted) sum(password, salt []byte) []byte {
	h := digests[f.digest]()
	h.Write(password)
	h.Write(salt)
	return h.Sum(nil)
}

func (f ldapSalted) hash(password []byte) (string, error) {
	salt := randomBytes(f.saltLen)
	return f.label + base64.StdEncoding.EncodeToString(append(f.sum(password, salt), salt...)), nil
}

// ldapDigests maps upper-case LDAP labels to digests: the S-prefixed ones are salted.
var ldapDigests = map[string]string{
	"SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512",
	"SSHA": "sha1", "SSHA256": "sha256", "SSHA384": "sha384", "SSHA512": "sha512",
}

func parseLDAP(s string, lim *limits) (*parsed, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return nil, malformed("ldap", "no closing brace")
	}
	label, data := s[:end+1], s[end+1:]
	upper := strings.ToUpper(s[1:end])
	switch upper {
	case "CRYPT":
		if strings.HasPrefix(data, "$") {
			return parseMCF(data, label, lim)
		}
		if p, err, ok := parseDES(data, label); ok {
			return p, err
		}
		return nil, malformed("ldap", "an unknown {CRYPT} payload")
	case "ARGON2":
		// OpenLDAP's pw-argon2 module: "{ARGON2}" and a PHC string.
		return parseArgon2(data, label, lim)
	case "CLEARTEXT", "CLEAR", "PLAIN":
		return &parsed{
			info:  Info{Scheme: "plain", Variant: label, Weak: true, Note: "plain text; resetgate never writes it"},
			check: func(pw []byte) (bool, error) { return equal(pw, []byte(data)), nil },
		}, nil
	case "MD5", "SMD5":
		return parseLDAPDigest(label, data, upper == "SMD5", md5.New)
	}
	digest, ok := ldapDigests[upper]
	if !ok {
		return unsupported("ldap", "{"+safeName(s[1:end])+"}", "LDAP scheme not supported")
	}
	if !strings.HasPrefix(upper, "SS") {
		return parseLDAPDigest(label, data, false, digests[digest])
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	size := digestSize(digest)
	if err != nil || len(raw) <= size {
		return nil, malformed("ldap-ssha", "bad base64 or no salt")
	}
	want, salt := raw[:size], raw[size:]
	seen := ldapSalted{label: label, digest: digest, saltLen: len(salt)}
	next := seen
	if next.saltLen < 4 {
		next.saltLen = 8
	}
	return &parsed{info: seen.describe(), writer: next, check: func(pw []byte) (bool, error) {
		return equal(seen.sum(pw, salt), want), nil
	}}, nil
}

// parseLDAPDigest parses the weak {SHA}, {SHA256}, …, {MD5} and {SMD5} formats.
func parseLDAPDigest(label, data string, salted bool, newHash func() hash.Hash) (*parsed, error) {
	size := newHash().Size()
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(raw) < size || (!salted && len(raw) != size) || (salted && len(raw) == size) {
		return nil, malformed("ldap", "bad base64 or length")
	}
	want, salt := raw[:size], raw[size:]
	scheme, note := "ldap-sha", "unsalted fast SHA: identical passwords share a hash; resetgate never writes it; use ldap-ssha or better"
	switch {
	case size == md5.Size && salted:
		scheme, note = "ldap-smd5", "one fast salted MD5; resetgate never writes it"
	case size == md5.Size:
		scheme, note = "ldap-md5", "unsalted MD5; resetgate never writes it"
	}
	return &parsed{
		info: Info{Scheme: scheme, Variant: label, Weak: true, Note: note},
		check: func(pw []byte) (bool, error) {
			h := newHash()
			h.Write(pw)
			h.Write(salt)
			return equal(h.Sum(nil), want), nil
		},
	}, nil
}
