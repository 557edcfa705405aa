package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestDoctorNamesEveryStack seeds one hash of each stack issue 15 added (made by the real
// tools, reset/passhash/testdata/stack-vectors.jsonl) and checks that doctor reports each
// format, whether it can write it, how it was verified, and what to do about the ones it
// refuses.
func TestDoctorNamesEveryStack(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	rows := map[string]string{
		"$P$Bkg13qc7KcdmFnuXVwztaRtXI5NSEA0":                                   "phpass  $P$",
		"$wp$2y$10$lq2AbSvfORfDIAHz.Z7tKu7mpqZVUUn2XEROHRFefUEEUpYVHx6xC":      "wordpress  $wp$2y$",
		"$S$DgE1vuZOCO5h4AKeUxx6IV50AfkuIMaowGsjTHsOWnU7Ai6WOtS7":              "drupal7  $S$",
		"AGDOhlZ38LCjMtQ8ZFqLS3/tTlI1OCuBCGb3NiYUwMOS/XZWjl0T0rwaRxTx+gkgTg==": "aspnet-identity  v2 (0x00)",
		"{noop}letmein-42": "spring  {noop}",
		"$y$j9T$K8HVAm08BxYSyRchJoo/r/$8eOHjCq9zUT.7kvdV80XnVPXWwYioD/.CLbgt9yfrsD":  "yescrypt  $y$",
		"$gy$j9T$BdImFSDFlAiXpJlYBqNZl1$QxGILZXGS7FnoSIEkMAKUHxiCk/xqfyQMpONITA80i2": "gost-yescrypt  $gy$",
	}
	i := 0
	for hash := range rows {
		i++
		if _, err := users.db.Exec("INSERT INTO users (name, email, password) VALUES (?, ?, ?)",
			fmt.Sprint("user", i), fmt.Sprintf("user%d@example.com", i), hash); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := cli(t, env(), "", "doctor", "-config", path)
	if code != 1 || !strings.Contains(out, "NOT SAFE") {
		t.Fatalf("doctor with {noop} and gost-yescrypt rows = %d, want 1 and NOT SAFE:\n%s%s", code, out, errOut)
	}
	for _, want := range rows {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not report %q:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"verified by: WordPress 6.1 wp_check_password",
		"verified by: drupal-hash 1.0.4 (npm)",
		"verified by: aspnetcore-identity-password-hasher 1.0.1 (npm)",
		"verified by: libxcrypt: mkpasswd -m yescrypt (Debian whois) vectors",
		"verified by: mkpasswd -m gost-yescrypt vectors, recognised only",
		`instead: set [users] hash = "sha512-crypt"`,
		`instead: set [users] hash = "spring"`,
		"writes: yes, in exactly this format",
		"writes: no",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}
