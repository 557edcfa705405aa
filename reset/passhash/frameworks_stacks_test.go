package passhash

import "strings"

// The stacks of issue 15, each checked by its own code where Debian or npm ships it and
// otherwise by an independent implementation of its published encoding (testdata/README.md
// says which is which). Like the verifiers in frameworks_test.go, each reads {"hash",
// "password"} JSON lines on stdin and answers 1 or 0 per line.

// nodeDir holds the pinned npm packages (package-lock.json); .ci/run runs `npm ci` there.
const nodeDir = "testdata/node"

const nodeLoop = `
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean).map(JSON.parse);
(async () => {
  for (const c of lines) console.log((await verify(c.password, c.hash)) ? 1 : 0);
})();
`

var stackVerifiers = []verifier{
	{
		// Debian 12's WordPress 6.1.9: its own wp_check_password (class-phpass.php inside) for
		// $P$ and $H$. Its 6.1 predates $wp$, so for those the verifier runs the $wp branch of
		// WordPress 6.8's wp_check_password, line for line: PHP's password_verify over
		// base64_encode(hash_hmac('sha384', $password, 'wp-sha384', true)).
		name: "wordpress",
		command: []string{"php", "-r", `
define('ABSPATH', '/usr/share/wordpress/');
define('WPINC', 'wp-includes');
if (!is_file(ABSPATH . WPINC . '/pluggable.php')) { fwrite(STDERR, "No module named wordpress\n"); exit(3); }
require ABSPATH . WPINC . '/plugin.php';
require ABSPATH . WPINC . '/pluggable.php';
while (($line = fgets(STDIN)) !== false) {
    $c = json_decode($line, true);
    if (str_starts_with($c["hash"], '$wp')) {
        $ok = password_verify(base64_encode(hash_hmac('sha384', $c["password"], 'wp-sha384', true)), substr($c["hash"], 3));
    } else {
        $ok = wp_check_password($c["password"], $c["hash"]);
    }
    echo $ok ? "1\n" : "0\n";
}`},
		accepts: func(i Info) bool { return i.Scheme == "wordpress" || i.Scheme == "phpass" },
	},
	{
		// drupal-hash 1.0.4, a port of Drupal 7's includes/password.inc (Drupal 7 is not in
		// Debian 12).
		name: "drupal-hash (npm)",
		command: []string{"node", "-e", `
process.chdir('` + nodeDir + `');
const drupal = require(require('path').resolve('node_modules/drupal-hash'));
const verify = async (pw, h) => drupal.checkPassword(pw, h);
` + nodeLoop},
		accepts: func(i Info) bool { return i.Scheme == "drupal7" || i.Scheme == "phpass" },
	},
	{
		// aspnetcore-identity-password-hasher 1.0.1, a port of ASP.NET Core's PasswordHasher;
		// it knows the SHA-1 and SHA-256 PRFs only.
		name: "aspnetcore-identity-password-hasher (npm)",
		command: []string{"node", "-e", `
process.chdir('` + nodeDir + `');
const identity = require(require('path').resolve('node_modules/aspnetcore-identity-password-hasher'));
const verify = (pw, h) => identity.verify(pw, h);
` + nodeLoop},
		accepts: func(i Info) bool { return i.Scheme == "aspnet-identity" && !strings.Contains(i.Params, "SHA512") },
	},
	{
		// .NET 7+'s SHA-512 Identity v3 hashes, by node's own PBKDF2 following the v3 layout.
		name: "node crypto (Identity v3 layout)",
		command: []string{"node", "-e", `
const crypto = require('crypto');
const verify = async (pw, h) => {
  const b = Buffer.from(h, 'base64');
  if (b[0] !== 1) return false;
  const prf = ['sha1', 'sha256', 'sha512'][b.readUInt32BE(1)], iter = b.readUInt32BE(5), n = b.readUInt32BE(9);
  const salt = b.subarray(13, 13 + n), key = b.subarray(13 + n);
  return crypto.timingSafeEqual(crypto.pbkdf2Sync(pw, salt, iter, key.length, prf), key);
};
` + nodeLoop},
		accepts: func(i Info) bool { return i.Scheme == "aspnet-identity" && strings.HasPrefix(i.Variant, "v3") },
	},
	{
		// Spring Security's encodings, re-implemented on Debian's hashlib, argon2-cffi and
		// bcrypt: Debian ships no spring-security-crypto. The encoder parameters are those of
		// PasswordEncoderFactories for each id.
		name: "spring encodings (python3-argon2, python3-bcrypt)",
		command: []string{python, "-c", `
import base64, hashlib, hmac, argon2, bcrypt
def verify(password, hash):
    pw = password.encode()
    label, rest = hash.split("}", 1)
    label += "}"
    if label == "{bcrypt}":
        return bcrypt.checkpw(pw, rest.encode())
    if label.startswith("{argon2"):
        try:
            return argon2.PasswordHasher().verify(rest, password)
        except argon2.exceptions.VerifyMismatchError:
            return False
    if label.startswith("{pbkdf2"):
        raw = bytes.fromhex(rest)
        digest, iters, n = ("sha1", 185000, 8) if label == "{pbkdf2}" else ("sha256", 310000, 16)
        return hmac.compare_digest(hashlib.pbkdf2_hmac(digest, pw, raw[:n], iters, 32), raw[n:])
    if label.startswith("{scrypt"):
        _, params, salt, key = rest.split("$")
        params = int(params, 16)
        got = hashlib.scrypt(pw, salt=base64.b64decode(salt), n=1 << (params >> 16), r=params >> 8 & 0xff,
                             p=params & 0xff, maxmem=1 << 30, dklen=32)
        return hmac.compare_digest(got, base64.b64decode(key))
    raise ValueError(label)
` + pyLoop},
		accepts: func(i Info) bool { return i.Scheme == "spring" && !strings.HasSuffix(i.Variant, " base64") },
	},
	{
		// Django 4.0+'s ScryptPasswordHasher.verify, re-implemented on hashlib: Debian 12's
		// Django 3.2 predates scrypt. It compares whole encoded strings, as Django does.
		name: "django scrypt (hashlib)",
		command: []string{python, "-c", `
import base64, hashlib, hmac
def verify(password, hash):
    algorithm, n, salt, r, p, _ = hash.split("$", 5)
    key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=int(n), r=int(r), p=int(p), maxmem=0, dklen=64)
    return hmac.compare_digest(hash, "%s$%s$%s$%s$%s$%s" % (algorithm, n, salt, r, p, base64.b64encode(key).decode()))
` + pyLoop},
		accepts: func(i Info) bool { return i.Scheme == "django" && i.Variant == "scrypt" },
	},
	{
		// libxcrypt through mkpasswd (Debian's whois): re-creates each sha-crypt hash from its
		// salt and rounds, and each yescrypt hash from its setting ("$y$PARAMS$SALT", which
		// mkpasswd -S takes whole), and compares.
		name: "whois",
		command: []string{python, "-c", `
import hmac, subprocess
def verify(password, hash):
    fields = hash.split("$")
    if fields[1] == "y":
        args = ["mkpasswd", "--stdin", "-m", "yescrypt", "-S", "$".join(fields[:4])]
        got = subprocess.run(args, input=password, capture_output=True, text=True, check=True).stdout.strip()
        return hmac.compare_digest(got, hash)
    method = {"5": "sha256crypt", "6": "sha512crypt"}[fields[1]]
    args = ["mkpasswd", "--stdin", "-m", method]
    if fields[2].startswith("rounds="):
        args += ["-R", fields[2][len("rounds="):]]
        fields = fields[:2] + fields[3:]
    args += ["-S", fields[2]]
    got = subprocess.run(args, input=password, capture_output=True, text=True, check=True).stdout.strip()
    return hmac.compare_digest(got, hash)
` + pyLoop},
		accepts: func(i Info) bool {
			return (i.Scheme == "sha256-crypt" || i.Scheme == "sha512-crypt" || i.Scheme == "yescrypt") && strings.HasPrefix(i.Variant, "$")
		},
	},
	{
		// OpenLDAP's own argon2 module, by slappasswd's verify: it has none, so the check
		// re-derives with argon2-cffi, which implements the reference argon2 that pw-argon2
		// links (libargon2).
		name: "python3-argon2 ({ARGON2})",
		command: []string{python, "-c", `
import argon2
ph = argon2.PasswordHasher()
def verify(password, hash):
    try:
        return ph.verify(hash[len("{ARGON2}"):], password)
    except argon2.exceptions.VerifyMismatchError:
        return False
` + pyLoop},
		accepts: func(i Info) bool { return i.Scheme == "ldap-argon2" },
	},
}
