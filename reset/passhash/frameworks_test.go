package passhash

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// Tests that the real frameworks accept what resetgate writes. Each verifier is a short
// program reading {"hash", "password"} JSON lines on stdin and answering 1 or 0 per line, so
// no password or hash is ever interpolated into code. They run where the Debian packages
// are installed (python3-werkzeug, python3-django, python3-passlib, python3-bcrypt,
// python3-argon2, php-cli) and are skipped elsewhere, or fail with CI=true.

// python is Debian's interpreter: the python3 first on PATH may be another build without
// the Debian packages.
const python = "/usr/bin/python3"

// verifier is one framework's own verify function.
type verifier struct {
	name    string   // the Debian package, for testenv.Need
	command []string // reads JSON lines on stdin
	accepts func(Info) bool
}

const pyLoop = `
import sys, json
for line in sys.stdin:
    c = json.loads(line)
    print(1 if verify(c["password"], c["hash"]) else 0, flush=True)
`

var verifiers = []verifier{
	{
		name: "python3-werkzeug",
		command: []string{python, "-c", `
from werkzeug.security import check_password_hash
def verify(password, hash):
    return check_password_hash(hash, password)
` + pyLoop},
		// Debian 12's werkzeug 2.2 predates scrypt; that it refuses scrypt is why New never
		// writes it.
		accepts: func(i Info) bool { return i.Scheme == "werkzeug" && strings.HasPrefix(i.Variant, "pbkdf2:") },
	},
	{
		name: "python3-django",
		command: []string{python, "-c", `
from django.conf import settings
settings.configure(PASSWORD_HASHERS=[
    "django.contrib.auth.hashers." + name for name in (
        "PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher", "Argon2PasswordHasher",
        "BCryptSHA256PasswordHasher", "BCryptPasswordHasher")])
from django.contrib.auth.hashers import check_password
def verify(password, hash):
    return check_password(password, hash)
` + pyLoop},
		// Debian 12's Django 3.2 predates scrypt (frameworks_stacks_test.go checks it).
		accepts: func(i Info) bool { return i.Scheme == "django" && i.Variant != "scrypt" },
	},
	{
		name: "python3-passlib",
		command: []string{python, "-c", `
from passlib.context import CryptContext
ctx = CryptContext(schemes=["pbkdf2_sha256", "pbkdf2_sha512", "pbkdf2_sha1", "sha512_crypt",
    "sha256_crypt", "bcrypt", "argon2", "ldap_salted_sha1", "ldap_salted_sha256", "ldap_salted_sha512"])
def verify(password, hash):
    return ctx.verify(password, hash)
` + pyLoop},
		accepts: func(i Info) bool {
			switch i.Scheme {
			case "passlib", "sha256-crypt", "sha512-crypt", "argon2id", "ldap-ssha":
				return !strings.HasPrefix(i.Variant, "{CRYPT}") && i.Variant != "{SSHA384}"
			case "bcrypt":
				return !strings.HasPrefix(i.Variant, "{CRYPT}")
			}
			return false
		},
	},
	{
		name: "python3-bcrypt",
		command: []string{python, "-c", `
import bcrypt
def verify(password, hash):
    return bcrypt.checkpw(password.encode(), hash.encode())
` + pyLoop},
		accepts: func(i Info) bool { return i.Scheme == "bcrypt" && strings.HasPrefix(i.Variant, "$2") },
	},
	{
		name: "python3-argon2",
		command: []string{python, "-c", `
import argon2
ph = argon2.PasswordHasher()
def verify(password, hash):
    try:
        return ph.verify(hash, password)
    except argon2.exceptions.VerifyMismatchError:
        return False
` + pyLoop},
		accepts: func(i Info) bool { return i.Scheme == "argon2id" },
	},
	{
		// glibc/libxcrypt's crypt(3), which /etc/shadow, LDAP {CRYPT} and Apache use
		// (Debian 12's Python 3.11 crypt module calls libxcrypt's crypt_r).
		name: "libcrypt (Python crypt module)",
		command: []string{python, "-W", "ignore", "-c", `
import crypt, hmac
def verify(password, hash):
    return hmac.compare_digest(crypt.crypt(password, hash) or "", hash)
` + pyLoop},
		accepts: func(i Info) bool {
			switch i.Scheme {
			case "sha256-crypt", "sha512-crypt", "bcrypt", "yescrypt":
				return strings.HasPrefix(i.Variant, "$")
			}
			return false
		},
	},
	{
		name: "php-cli",
		command: []string{"php", "-r", `
while (($line = fgets(STDIN)) !== false) {
    $c = json_decode($line, true);
    echo password_verify($c["password"], $c["hash"]) ? "1\n" : "0\n";
}`},
		accepts: func(i Info) bool {
			switch i.Scheme {
			case "bcrypt", "argon2id", "sha256-crypt", "sha512-crypt":
				return strings.HasPrefix(i.Variant, "$") || strings.HasPrefix(i.Variant, "argon2")
			}
			return false
		},
	},
}

// written is one hash resetgate wrote, with the password it hides.
type written struct {
	from     string // what wrote it: New(name) or Identify(vector)
	password string
	hash     string
	info     Info
}

// mustWrite hashes sample passwords with New's defaults for every scheme and with Identify
// for one vector of each framework variant, so that each verifier sees every format and
// parameter set resetgate can produce.
func mustWrite(t *testing.T) []written {
	t.Helper()
	vs := mustVectors(t)
	passwords := []string{vs[0].Password, vs[1].Password, vs[2].Password, vs[3].Password}
	var out []written
	add := func(from string, h Hasher, pw string) {
		if len(pw) > h.MaxPasswordBytes() {
			return // bcrypt: refused, as TestVectorsRehash checks
		}
		got, err := h.Hash(pw)
		if err != nil {
			t.Fatalf("%s.Hash(%q) = %v", from, pw, err)
		}
		info, err := Describe(got)
		if err != nil {
			t.Fatalf("Describe(%q) = %v", got, err)
		}
		out = append(out, written{from: from, password: pw, hash: got, info: info})
	}
	for _, name := range Names() {
		h, err := New(name)
		if err != nil {
			t.Fatalf("New(%q) = %v", name, err)
		}
		for i, pw := range passwords {
			if raceEnabled && i > 0 {
				break
			}
			add(fmt.Sprintf("New(%q)", name), h, pw)
		}
	}
	seen := map[string]bool{}
	for _, v := range vs {
		h, err := Identify(v.Hash)
		if err != nil || seen[v.Scheme+v.Variant] {
			continue
		}
		seen[v.Scheme+v.Variant] = true
		add(fmt.Sprintf("Identify(%s %s)", v.Scheme, v.Variant), h, passwords[len(seen)%len(passwords)])
	}
	// Formats no framework vector has but Identify can produce: passlib 1.7.4's
	// ldap_salted_sha512/sha256 and an LDAP {CRYPT} wrapper around htpasswd's sha512-crypt.
	extra := []struct{ password, hash string }{
		{"letmein-42", "{SSHA512}ClmHlMjrFBWuZUR7ZQud7EqsgrICCIWl13HFwswWVfBv07yOfELRjqnGIRHKd8DNbUdcOkDOmLPa8ou5ruI2IWst5Xzvfc9Z"},
		{"letmein-42", "{SSHA256}xEq2/gY9lLN/1IVNpcwwzKFmw5MJAQHJ3lHbwctsfGbKWYuxthZCyA=="},
		{"letmein-42", "{CRYPT}$6$ysBEgVT1Jq.RIR9L$nDzqrmoPdnRck0Iczz1WRPfhamhPICaFZPqduHDyK.Gh3byEqev5PjxR.L5heoVRdu9F9YN/HttygzFz0exi1/"},
	}
	for _, e := range extra {
		if ok, err := Verify(e.password, e.hash); !ok || err != nil {
			t.Fatalf("Verify(%q, %q) = %v, %v, want true, nil", e.password, e.hash, ok, err)
		}
		h, err := Identify(e.hash)
		if err != nil {
			t.Fatalf("Identify(%q) = %v", e.hash, err)
		}
		add(fmt.Sprintf("Identify(%.12s…)", e.hash), h, passwords[0])
	}
	return out
}

func TestFrameworksAcceptWrittenHashes(t *testing.T) {
	if raceEnabled {
		// This suite checks formats against external verifiers; it exercises no concurrent
		// code of ours, and under the race detector writing every variant's hashes takes
		// many minutes. `make test` runs it in full without -race.
		t.Skip("run without -race (make test does): it checks formats, not concurrency")
	}
	hashes := mustWrite(t)
	for _, v := range append(verifiers, stackVerifiers...) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			var cases []written
			for _, w := range hashes {
				if v.accepts(w.info) {
					cases = append(cases, w)
				}
			}
			if len(cases) == 0 {
				t.Fatalf("no written hash is meant for %s", v.name)
			}
			// Each hash twice: with its password (must verify) and a wrong one (must not),
			// so a verifier that says yes to everything fails the test.
			var in bytes.Buffer
			enc := json.NewEncoder(&in)
			for _, c := range cases {
				enc.Encode(map[string]string{"hash": c.hash, "password": c.password})
				enc.Encode(map[string]string{"hash": c.hash, "password": wrongPassword(c.password)})
			}
			answers := mustRun(t, v, in.Bytes())
			if len(answers) != 2*len(cases) {
				t.Fatalf("%s answered %d lines for %d cases", v.name, len(answers), 2*len(cases))
			}
			for i, c := range cases {
				if answers[2*i] != "1" {
					t.Errorf("%s rejected %s's %s %s hash %q of %q", v.name, c.from, c.info.Scheme, c.info.Variant, c.hash, c.password)
				}
				if answers[2*i+1] != "0" {
					t.Errorf("%s accepted a wrong password for %s's hash %q", v.name, c.from, c.hash)
				}
			}
		})
	}
}

// mustRun runs v with stdin and returns its answer lines; a missing tool or module skips the
// test (fails with CI=true).
func mustRun(t *testing.T, v verifier, stdin []byte) []string {
	t.Helper()
	cmd := exec.Command(v.command[0], v.command[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if err != nil && (errors.Is(err, exec.ErrNotFound) || errors.As(err, &exitErr) && isMissingModule(stderr.String())) {
		testenv.Need(t, v.name, fmt.Errorf("%v: %s", err, lastLine(stderr.String())))
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", v.name, err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func isMissingModule(stderr string) bool {
	return strings.Contains(stderr, "ModuleNotFoundError") || strings.Contains(stderr, "No module named") ||
		strings.Contains(stderr, "Cannot find module") // node, before `npm ci` in testdata/node
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
