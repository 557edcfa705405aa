package main

import (
	"strings"

	"resetgate/reset/passhash"
)

// formatLines are what doctor says about one group of stored hashes beyond its scheme and
// parameters: whether resetgate can write the format, which real implementation its tests
// check the format against, and, for a format it refuses, what to configure instead.
// scheme is [users] hash; writable is whether the policy accepted the group.
func formatLines(info passhash.Info, scheme string, writable bool) []string {
	var lines []string
	switch {
	case writable && scheme != "" && scheme != passhash.Auto:
		lines = append(lines, "writes: "+scheme+" (the configured hash), replacing this format on reset")
	case writable:
		lines = append(lines, "writes: yes, in exactly this format")
	case info.Writable:
		lines = append(lines, "writes: this format, but not for this configuration (see below)")
	default:
		lines = append(lines, "writes: no")
	}
	if by := passhash.VerifiedBy(info); by != "" {
		lines = append(lines, "verified by: "+by)
	}
	if info.Note != "" {
		lines = append(lines, "note: "+info.Note)
	}
	if !writable {
		if a := advice(info); a != "" {
			lines = append(lines, "instead: "+a)
		}
	}
	return lines
}

// advice is what to set for a format resetgate recognises but will not write.
func advice(info passhash.Info) string {
	switch info.Scheme {
	case "yescrypt", "gost-yescrypt":
		return `set [users] hash = "sha512-crypt" (or "yescrypt"): libxcrypt (PAM, /etc/shadow, crypt(3)) verifies $6$ and $y$ as well as $gy$; resetgate cannot compute gost-yescrypt, nor yescrypt flavours other than libxcrypt's $y$j`
	case "md5-crypt", "apr1":
		return `set [users] hash = "bcrypt" for Apache (htpasswd files and mod_authn_dbd verify $2y$) or "sha512-crypt" for crypt(3)/PAM`
	case "mysql41":
		return `the app compares MySQL PASSWORD() output itself: set [users] hash to the strong scheme its login also accepts, or change the app; resetgate never writes PASSWORD()`
	case "md5", "sha1", "sha256", "sha512":
		return `unsalted digests cannot be kept: set [users] hash to a scheme the app also accepts (WordPress accepts "phpass" and, from 6.8, "wordpress"; a custom app needs a code change first)`
	case "spring":
		return `set [users] hash = "spring" ({bcrypt}, Spring Security's default id, which every DelegatingPasswordEncoder verifies)`
	case "drupal7":
		return `set [users] hash = "drupal7"`
	case "plain", "salted-md5", "salted-sha1", "ldap-sha", "ldap-md5", "ldap-smd5", "des-crypt":
		return "set [users] hash to the strong scheme the app verifies (" + strings.Join(passhash.Names(), ", ") + ")"
	}
	return ""
}
