package passhash

import "strings"

// VerifiedBy says which real implementation resetgate's tests check a format against:
// vectors made by it (testdata/*.jsonl) verify here, and what resetgate writes verifies
// there. It is the record behind the README's "Hash formats" table, for the doctor command.
// An empty string means the format is only recognised.
func VerifiedBy(i Info) string {
	switch i.Scheme {
	case "werkzeug":
		if i.Variant == "scrypt" {
			return "werkzeug 3.1 vectors"
		}
		return "werkzeug 2.2 check_password_hash (Debian python3-werkzeug)"
	case "django":
		if i.Variant == "scrypt" {
			return "Django 4+ ScryptPasswordHasher re-implemented on hashlib (Debian's Django 3.2 predates it)"
		}
		return "Django 3.2 check_password (Debian python3-django)"
	case "bcrypt":
		return "PHP password_verify, python3-bcrypt, passlib, libxcrypt crypt(3)"
	case "argon2id":
		return "argon2-cffi (Debian python3-argon2), PHP password_verify, passlib"
	case "passlib":
		return "passlib 1.7 (Debian python3-passlib)"
	case "sha512-crypt", "sha256-crypt":
		return "libxcrypt: mkpasswd (Debian whois) and crypt(3); passlib; PHP"
	case "ldap-ssha":
		return "passlib ldap_salted_sha*"
	case "ldap-argon2":
		return "slappasswd with OpenLDAP's argon2 module (Debian slapd) vectors; argon2-cffi"
	case "phpass":
		return "WordPress 6.1 wp_check_password (Debian wordpress, php-cli); drupal-hash (npm)"
	case "wordpress":
		return "WordPress 6.8's wp_check_password $wp branch on PHP password_verify (Debian ships WordPress 6.1)"
	case "drupal7":
		return "drupal-hash 1.0.4 (npm), a port of Drupal 7's password.inc"
	case "spring":
		return "Spring's encodings re-implemented on hashlib, argon2-cffi and bcrypt (Debian ships no spring-security-crypto)"
	case "aspnet-identity":
		if strings.Contains(i.Params, "SHA512") {
			return "Node's PBKDF2 following the v3 layout"
		}
		return "aspnetcore-identity-password-hasher 1.0.1 (npm)"
	case "md5-crypt", "apr1":
		return "mkpasswd (Debian whois, libxcrypt); Apache htpasswd vectors"
	case "mysql41":
		return "MariaDB PASSWORD() vectors"
	case "md5", "sha1":
		return "PHP md5()/sha1() vectors"
	case "yescrypt":
		return "libxcrypt: mkpasswd -m yescrypt (Debian whois) vectors; what resetgate writes verifies with crypt(3) and mkpasswd -S"
	case "gost-yescrypt":
		return "mkpasswd -m gost-yescrypt vectors, recognised only"
	}
	return ""
}
