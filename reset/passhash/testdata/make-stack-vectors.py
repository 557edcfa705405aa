#!/usr/bin/python3
"""Regenerates stack-vectors.jsonl (and recognised-vectors.jsonl; yescrypt-vectors.jsonl has
its own make-yescrypt-vectors.py): password hashes made by
each stack's own hash function where Debian or npm ships it, and otherwise by an
independent implementation of the stack's published encoding (the "framework" field says
which). Run from anywhere, as root on a machine prepared by .ci/run:

    /usr/bin/python3 reset/passhash/testdata/make-stack-vectors.py

Needs: php-cli + wordpress (Debian), node + `npm ci` in testdata/node, python3-argon2 and
python3-bcrypt (Debian), whois (mkpasswd, libxcrypt), slapd (slappasswd with OpenLDAP's
argon2 module) and a MariaDB server on 127.0.0.1:3306 (root, no password).
Passwords reach every tool as JSON on stdin or as arguments to exec, never inside code.
"""
import base64, hashlib, hmac, json, os, secrets, string, subprocess, sys

import argon2.low_level
import bcrypt

HERE = os.path.dirname(os.path.abspath(__file__))
# The slowest formats (hundreds of thousands of PBKDF2 rounds, 64 MiB of scrypt) get two of
# them, ASCII and Unicode, to keep the vector suite within CI's time.
PASSWORDS = [
    "letmein-42",
    "0123456789-LongPublicPassphrase-0123456789-LongPublicPassphrase-0123456789-LongPublicPassphrase-0123",
    "naïve-Ωmega-密码",
    "open \"sesame\" it's me",
]

WP = r"""
define('ABSPATH', '/usr/share/wordpress/');
define('WPINC', 'wp-includes');
require ABSPATH . WPINC . '/version.php';
require ABSPATH . WPINC . '/plugin.php';
require ABSPATH . WPINC . '/pluggable.php';
require_once ABSPATH . WPINC . '/class-phpass.php';
$hasher = new PasswordHash(8, true);
while (($line = fgets(STDIN)) !== false) {
    $c = json_decode($line, true);
    $pw = $c['password'];
    switch ($c['variant']) {
    case 'wp_hash_password':
        $h = wp_hash_password($pw); break;
    case 'phpBB $H$':
        // phpBB 3.0's _hash_gensalt_private: the phpass setting with 'H' and 2^11.
        $setting = $hasher->gensalt_private($hasher->get_random_bytes(6));
        $setting[1] = 'H'; $setting[3] = '9';
        $h = $hasher->crypt_private($pw, $setting); break;
    case '$wp$ (6.8 wp_hash_password)':
        // WordPress 6.8's wp_hash_password, which Debian 12's WordPress 6.1 predates.
        $h = '$wp' . password_hash(base64_encode(hash_hmac('sha384', trim($pw), 'wp-sha384', true)), PASSWORD_BCRYPT); break;
    case 'md5()':
        $h = md5($pw); break;
    case 'sha1()':
        $h = sha1($pw); break;
    }
    echo json_encode(['hash' => $h, 'wordpress' => $wp_version, 'php' => PHP_VERSION]), "\n";
}
"""

NODE = r"""
const readline = require('readline');
const drupal = require('drupal-hash');
const identity = require('aspnetcore-identity-password-hasher');
const { PasswordHasher, PasswordHasherCompatibilityMode } = require('aspnetcore-identity-password-hasher/build/PasswordHasher');
const rl = readline.createInterface({ input: process.stdin });
const lines = [];
rl.on('line', l => lines.push(JSON.parse(l)));
rl.on('close', async () => {
  for (const c of lines) {
    let h;
    if (c.variant === 'user_hash_password') h = drupal.hashPassword(c.password);
    else if (c.variant === 'v3') h = await identity.hash(c.password);
    else if (c.variant === 'v2') h = await new PasswordHasher(10000, PasswordHasherCompatibilityMode.IdentityV2).hashPassword(c.password);
    console.log(JSON.stringify({ hash: h }));
  }
});
"""


def run_lines(cmd, cases, cwd=None):
    data = "".join(json.dumps(c) + "\n" for c in cases)
    out = subprocess.run(cmd, input=data, capture_output=True, text=True, check=True, cwd=cwd).stdout
    return [json.loads(l) for l in out.splitlines()]


def b64(b):
    return base64.b64encode(b).decode()


def aspnet_v3_sha512(pw):
    # .NET 7+'s default (PRF 2, 100,000 iterations); the npm package knows only SHA-1 and
    # SHA-256, so this is hashlib following the v3 layout.
    salt = secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, 100_000, 32)
    return b64(bytes([1]) + (2).to_bytes(4, "big") + (100_000).to_bytes(4, "big") + (16).to_bytes(4, "big") + salt + key)


def spring(variant, pw):
    # Spring Security's encodings (PasswordEncoderFactories' ids and defaults), re-implemented:
    # Debian ships no spring-security-crypto.
    raw = pw.encode()
    if variant == "{bcrypt}":
        return "{bcrypt}" + bcrypt.hashpw(raw, bcrypt.gensalt(10, b"2a")).decode()
    if variant.startswith("{pbkdf2"):
        digest, iters, n = ("sha1", 185_000, 8) if variant == "{pbkdf2}" else ("sha256", 310_000, 16)
        salt = secrets.token_bytes(n)
        return variant + (salt + hashlib.pbkdf2_hmac(digest, raw, salt, iters, 32)).hex()
    if variant.startswith("{scrypt"):
        log2, n = (14, 64) if variant == "{scrypt}" else (16, 16)
        salt = secrets.token_bytes(n)
        key = hashlib.scrypt(raw, salt=salt, n=1 << log2, r=8, p=1, maxmem=1 << 28, dklen=32)
        return variant + "$%x$%s$%s" % (log2 << 16 | 8 << 8 | 1, b64(salt), b64(key))
    if variant.startswith("{argon2"):
        m, t = (4096, 3) if variant == "{argon2}" else (16384, 2)
        return variant + argon2.low_level.hash_secret(raw, secrets.token_bytes(16), time_cost=t, memory_cost=m,
                                                      parallelism=1, hash_len=32, type=argon2.low_level.Type.ID).decode()
    if variant == "{sha256}":
        salt = secrets.token_bytes(8)
        d = hashlib.sha256(salt + raw).digest()
        for _ in range(1023):
            d = hashlib.sha256(d).digest()
        return "{sha256}" + (salt + d).hex()
    if variant == "{noop}":
        return "{noop}" + pw
    raise ValueError(variant)


def django_scrypt(pw):
    # Django 4.0+'s ScryptPasswordHasher defaults (n=2^14, r=8, p=5, 64-byte key, 22-char
    # salt); Debian 12's Django 3.2 predates it.
    salt = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))
    key = hashlib.scrypt(pw.encode(), salt=salt.encode(), n=1 << 14, r=8, p=5, dklen=64)
    return "scrypt$%d$%s$%d$%d$%s" % (1 << 14, salt, 8, 5, b64(key))


def mkpasswd(method, pw):
    return subprocess.run(["mkpasswd", "--stdin", "-m", method], input=pw, capture_output=True, text=True, check=True).stdout.strip()


def main():
    out, recognised = [], []

    def add(scheme, framework, version, variant, pw, h, into=out):
        into.append({"scheme": scheme, "framework": framework, "framework_version": version,
                     "variant": variant, "password": pw, "hash": h})

    php_variants = ["wp_hash_password", "phpBB $H$", "$wp$ (6.8 wp_hash_password)", "md5()", "sha1()"]
    cases = [{"variant": v, "password": pw} for v in php_variants for pw in PASSWORDS]
    for c, r in zip(cases, run_lines(["php", "-r", WP], cases)):
        scheme = {"wp_hash_password": "wordpress", "phpBB $H$": "phpbb", "md5()": "php-md5", "sha1()": "php-sha1"}.get(c["variant"], "wordpress68")
        add(scheme, "WordPress (Debian) PasswordHash / wp_hash_password" if scheme in ("wordpress", "phpbb") else "php-cli",
            r["wordpress"] if scheme in ("wordpress", "phpbb") else r["php"], c["variant"], c["password"], r["hash"])

    node = os.path.join(HERE, "node")
    cases = [{"variant": v, "password": pw} for v in ["user_hash_password", "v3", "v2"] for pw in PASSWORDS]
    for c, r in zip(cases, run_lines(["node", "-e", NODE], cases, cwd=node)):
        if c["variant"] == "user_hash_password":
            add("drupal7", "drupal-hash (npm)", "1.0.4", c["variant"], c["password"], r["hash"])
        else:
            add("aspnet-identity", "aspnetcore-identity-password-hasher (npm)", "1.0.1", c["variant"], c["password"], r["hash"])
    few = [PASSWORDS[0], PASSWORDS[2]]
    for pw in few:
        add("aspnet-identity", "hashlib (v3 layout)", sys.version.split()[0], "v3 sha512 (.NET 7+)", pw, aspnet_v3_sha512(pw))
    for v in ["{bcrypt}", "{pbkdf2}", "{pbkdf2@SpringSecurity_v5_8}", "{scrypt}", "{scrypt@SpringSecurity_v5_8}",
              "{argon2}", "{argon2@SpringSecurity_v5_8}", "{sha256}", "{noop}"]:
        for pw in (few if v.startswith("{pbkdf2") or v == "{scrypt@SpringSecurity_v5_8}" else PASSWORDS):
            if v == "{bcrypt}" and len(pw.encode()) > 72:
                continue
            add("spring", "Spring encodings re-implemented (hashlib, argon2-cffi, bcrypt)", "7.0", v, pw, spring(v, pw))
    mariadb_version = subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", "SELECT VERSION()"],
                                     capture_output=True, text=True, check=True).stdout.strip()
    for pw in few:
        add("django-scrypt", "Django 4+ ScryptPasswordHasher re-implemented (hashlib)", "4.2", "scrypt", pw, django_scrypt(pw))
    for pw in PASSWORDS:
        add("libxcrypt", "mkpasswd (whois, libxcrypt)", "5.5.17", "md5crypt", pw, mkpasswd("md5crypt", pw))
        add("libxcrypt", "mkpasswd (whois, libxcrypt)", "5.5.17", "sha512crypt", pw, mkpasswd("sha512crypt", pw))
        # yescrypt ($y$) has its own script, make-yescrypt-vectors.py; gost-yescrypt is recognised only.
        add("libxcrypt", "mkpasswd (whois, libxcrypt)", "5.5.17", "gost-yescrypt", pw, mkpasswd("gost-yescrypt", pw), into=recognised)
        ldap = subprocess.run(["slappasswd", "-o", "module-load=argon2", "-h", "{ARGON2}", "-T", "/dev/stdin"],
                              input=pw, capture_output=True, text=True, check=True).stdout.strip()
        add("openldap", "slappasswd (slapd, pw-argon2)", "2.5.13", "{ARGON2}", pw, ldap)
        mysql = subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", "SELECT PASSWORD(@pw)",
                                "--init-command", "SET @pw = FROM_BASE64('%s')" % b64(pw.encode())],
                               capture_output=True, text=True, check=True).stdout.strip()
        add("mysql", "MariaDB PASSWORD()", mariadb_version, "PASSWORD()", pw, mysql)

    for name, rows in (("stack-vectors.jsonl", out), ("recognised-vectors.jsonl", recognised)):
        with open(os.path.join(HERE, name), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print("wrote %d vectors to %s" % (len(rows), name))


main()
