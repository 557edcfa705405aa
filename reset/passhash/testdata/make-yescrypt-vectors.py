#!/usr/bin/python3
"""Regenerates yescrypt-vectors.jsonl: libxcrypt's own yescrypt ("$y$"), made by mkpasswd
from Debian's whois (5.5.17, libxcrypt 4.4.33). Run from anywhere:

    /usr/bin/python3 reset/passhash/testdata/make-yescrypt-vectors.py

The "variant" field is the mkpasswd invocation: `-m yescrypt` alone (random salt, libxcrypt's
default cost 5, "$y$j9T$"), `-R N` for the other costs libxcrypt offers (1 to 7 here), and
`-S SETTING` to pin a salt and parameters mkpasswd has no option for: p (threads) and t
(extra time), encoded as libxcrypt's own yescrypt_encode_params writes them, and a 12-byte
salt. Passwords reach mkpasswd on stdin, never as arguments.
"""
import json, os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORDS = [
    "letmein-42",
    "0123456789-LongPublicPassphrase-0123456789-LongPublicPassphrase-0123456789-LongPublicPassphrase-0123",
    "naïve-Ωmega-密码",
    "open \"sesame\" it's me",
]
SALT = "abcdefghijklmnopqrstu."  # 16 bytes, the length libxcrypt writes
SETTINGS = [
    "$y$j9T$" + SALT,              # the default cost, salt pinned
    "$y$j9T..$" + SALT,            # p=2
    "$y$j8T//$" + SALT,            # t=2
    "$y$j8T00.$" + SALT,           # p=4, t=1
    "$y$j75$abcdefghijklmnop",     # 12-byte salt, r=8
]


def mkpasswd(pw, *args):
    return subprocess.run(["mkpasswd", "--stdin", "-m", "yescrypt", *args], input=pw,
                          capture_output=True, text=True, check=True).stdout.strip()


def main():
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "whois"], capture_output=True,
                             text=True, check=True).stdout.strip()
    rows = []

    def add(variant, pw, h):
        assert h.startswith("$y$"), h
        rows.append({"scheme": "libxcrypt", "framework": "mkpasswd (whois, libxcrypt)",
                     "framework_version": version, "variant": variant, "password": pw, "hash": h})

    for pw in PASSWORDS:
        add("yescrypt", pw, mkpasswd(pw))
    for pw in (PASSWORDS[0], PASSWORDS[2]):
        for cost in range(1, 8):
            if cost != 5:
                add("yescrypt -R %d" % cost, pw, mkpasswd(pw, "-R", str(cost)))
        for setting in SETTINGS:
            add("yescrypt -S %s" % setting, pw, mkpasswd(pw, "-S", setting))
    with open(os.path.join(HERE, "yescrypt-vectors.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %d vectors to yescrypt-vectors.jsonl" % len(rows))


main()
