package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/internal/testenv"
	"resetgate/reset/passhash"
)

// directoryAccount is alice in a fresh slapd, with an {SSHA} password.
type directoryAccount struct {
	srv *testenv.LDAPServer
	dn  string
}

// mustDirectoryAccount adds alice with the userPassword value hash.
func mustDirectoryAccount(t *testing.T, hash string) directoryAccount {
	t.Helper()
	srv := testenv.LDAP(t)
	a := directoryAccount{srv: srv, dn: "uid=alice," + testenv.LDAPPeopleDN}
	c := a.root(t)
	defer c.Close()
	req := goldap.NewAddRequest(a.dn, nil)
	for attr, v := range map[string]string{"objectClass": "inetOrgPerson", "uid": "alice", "cn": "Alice Liddell", "sn": "Liddell", "mail": "Alice@Example.com", "userPassword": hash} {
		req.Attribute(attr, []string{v})
	}
	if err := c.Add(req); err != nil {
		t.Fatal(err)
	}
	return a
}

// ssha is password as {SSHA}, written by resetgate's own ldap-ssha hasher.
func ssha(t *testing.T, password string) string {
	t.Helper()
	h, err := passhash.New("ldap-ssha")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// argon2LDAP is password as OpenLDAP's {ARGON2} with an argon2id PHC string (OWASP's
// m=19456,t=2,p=1), written by resetgate's own argon2id hasher: slapd's argon2 module
// (internal/testenv loads it) verifies it on bind.
func argon2LDAP(t *testing.T, password string) string {
	t.Helper()
	h, err := passhash.New("argon2id")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return "{ARGON2}" + hash
}

// aliceCrypt is "Tawny-Heron-Quartz-88" as SHA-512 crypt with glibc's default 5000 rounds, made
// by Python's crypt.crypt(password, "$6$resetgateSalt16") (glibc's crypt(3)).
const aliceCrypt = "{CRYPT}$6$resetgateSalt16$LJWLdNKupxgHr2hishxj12IrMThYbQNeZQGELvOhnHQpMBMW45NOcXDSNc7N8n77u2nL7qHYl8YpcNyl1LF9Y0"

// aliceYescrypt is "Tawny-Heron-Quartz-88" as libxcrypt's yescrypt, made by
// `mkpasswd --stdin -m yescrypt -S '$y$j9T$resetgateSalt16resetgat.'` (Debian whois 5.5.17);
// slapd's {CRYPT} checks it with libxcrypt's crypt(3).
const aliceYescrypt = "{CRYPT}$y$j9T$resetgateSalt16resetgat.$GpohiOjD4Pt2SQym.8Py6QDNbtSwLUolACefBdHV380"

func (a directoryAccount) root(t *testing.T) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(testenv.LDAPRootDN, testenv.LDAPRootPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

func (a directoryAccount) binds(t *testing.T, password string) bool {
	t.Helper()
	c, err := goldap.DialURL(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(a.dn, password) == nil
}

func (a directoryAccount) userPassword(t *testing.T) string {
	t.Helper()
	c := a.root(t)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest(a.dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"userPassword"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", a.dn, err)
	}
	return res.Entries[0].GetAttributeValue("userPassword")
}

// ldapConfig is a config for acct's directory, bound as service, with data_dir in dir.
func ldapConfig(acct directoryAccount, service, upstream, dir string) string {
	return fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_level = "debug"
[users]
driver = "ldap"
[users.ldap]
url = %q
tls = "starttls"
ca_file = %q
bind_dn = %q
bind_password_env = "TEST_LDAP_PASSWORD"
base_dn = %q
[mail]
from = "Example <no-reply@example.com>"
[admin]
listen = "127.0.0.1:0"
`, upstream, filepath.Join(dir, "data"), acct.srv.URL, acct.srv.CAFile, service, testenv.LDAPPeopleDN)
}

func TestCheckAndDoctorLDAP(t *testing.T) {
	acct := mustDirectoryAccount(t, ssha(t, "Tawny-Heron-Quartz-88"))
	app := echoApp(t)
	getenv := env("TEST_LDAP_PASSWORD", testenv.LDAPServicePassword)
	for _, tc := range []struct {
		name, service         string
		wantCheck, wantDoctor string
	}{
		{"extended operation", testenv.LDAPServiceDN, "passwords written with the Password Modify extended operation", "the directory hashes new passwords itself"},
		{"userPassword", testenv.LDAPAttrServiceDN, "passwords written with userPassword in each entry's own scheme", "1 × ldap-ssha  {SSHA}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.toml")
			if err := os.WriteFile(path, []byte(ldapConfig(acct, tc.service, app.URL, dir)), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := cli(t, getenv, "", "check", "-config", path)
			if code != 0 || !strings.Contains(out, "ok    directory") || !strings.Contains(out, tc.wantCheck) {
				t.Errorf("check = %d, want 0 with %q:\n%s%s", code, tc.wantCheck, out, errOut)
			}
			code, out, errOut = cli(t, getenv, "", "doctor", "-config", path)
			if code != 0 || !strings.Contains(out, tc.wantDoctor) || !strings.Contains(out, "safe:") {
				t.Errorf("doctor = %d, want 0, safe, with %q:\n%s%s", code, tc.wantDoctor, out, errOut)
			}
		})
	}
	t.Run("wrong service password", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.toml")
		os.WriteFile(path, []byte(ldapConfig(acct, testenv.LDAPServiceDN, app.URL, dir)), 0o600)
		code, out, _ := cli(t, env("TEST_LDAP_PASSWORD", "wrong"), "", "check", "-config", path)
		if code != 1 || !strings.Contains(out, "FAIL  directory") || !strings.Contains(out, "Invalid Credentials") {
			t.Errorf("check with a wrong bind password = %d:\n%s", code, out)
		}
	})
}

// TestEndToEndLDAP walks the whole flow through run() against a real slapd, once through the
// Password Modify extended operation and once writing userPassword, with ppolicy's refusals
// shown on the new-password page.
func TestEndToEndLDAP(t *testing.T) {
	const oldPassword, newPassword = "Tawny-Heron-Quartz-88", "cobalt lantern orchard 42"
	for _, tc := range []struct {
		name, service string
		old           string // the entry's userPassword before the reset
		wantStored    string // the scheme userPassword ends in
		policy        bool   // ppolicy can judge the password (it sees it in clear)
	}{
		{"extended operation", testenv.LDAPServiceDN, ssha(t, oldPassword), testenv.LDAPServerHash + "$6$", true},
		{"userPassword in the entry's scheme {SSHA}", testenv.LDAPAttrServiceDN, ssha(t, oldPassword), "{SSHA}", false},
		// upgrade_cost off keeps glibc's 5000 rounds: the same scheme, parameters and label.
		{"userPassword in the entry's scheme {CRYPT}$6$", testenv.LDAPAttrServiceDN, aliceCrypt, "{CRYPT}$6$", false},
		// slapd's argon2 module checks both binds below: the new value is argon2id as written
		// by resetgate in the entry's scheme, parameters and label.
		{"userPassword in the entry's scheme {ARGON2}", testenv.LDAPAttrServiceDN, argon2LDAP(t, oldPassword), "{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$", false},
		// resetgate's own yescrypt, checked on bind by libxcrypt's crypt(3) inside slapd.
		{"userPassword in the entry's scheme {CRYPT}$y$", testenv.LDAPAttrServiceDN, aliceYescrypt, "{CRYPT}$y$j9T$", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old
			acct := mustDirectoryAccount(t, old)
			if !acct.binds(t, oldPassword) {
				t.Fatalf("slapd does not accept the old password's %.12s… value before the reset", old)
			}
			app := echoApp(t)
			dir := t.TempDir()
			cfg := ldapConfig(acct, tc.service, app.URL, dir)
			if old == aliceCrypt {
				cfg = strings.Replace(cfg, "driver = \"ldap\"\n", "driver = \"ldap\"\nupgrade_cost = false\n", 1)
			}
			rg := runConfig(t, dir, cfg, map[string]string{"TEST_LDAP_PASSWORD": testenv.LDAPServicePassword})
			b := newBrowser(t, rg.base)

			b.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
			mail := rg.log.waitLog(t, "mail written to outbox", 1)
			if mail["to"] != "Alice@Example.com" {
				t.Errorf("mail to %v, want the directory's address", mail["to"])
			}
			link, _ := url.Parse(mail["link"].(string))
			b.expect("GET", link.Path, "", 303, "/pwreset/new")
			b.expect("GET", "/pwreset/new", "", 200, "")

			if tc.policy {
				// Strong enough for resetgate (8+ characters, zxcvbn), refused by ppolicy.
				for _, c := range []struct{ password, want string }{
					{"Xq7#vLp2!mZ", "asks for a longer password"}, // 11 < pwdMinLength 12
					{oldPassword, "used this password before"},    // pwdInHistory 3
				} {
					body := b.expect("POST", "/pwreset/new", "password="+url.QueryEscape(c.password)+"&password2="+url.QueryEscape(c.password), 422, "")
					if !strings.Contains(body, c.want) {
						t.Errorf("the page after ppolicy refused %q does not say %q:\n%s", c.password, c.want, body)
					}
				}
				if !acct.binds(t, oldPassword) {
					t.Fatalf("a refused password changed the entry")
				}
			}
			b.expect("POST", "/pwreset/new", "password="+url.QueryEscape(newPassword)+"&password2="+url.QueryEscape(newPassword), 303, "/pwreset/done")

			if !acct.binds(t, newPassword) || acct.binds(t, oldPassword) {
				t.Errorf("after the reset: bind with the new password %t, with the old %t; want true, false", acct.binds(t, newPassword), acct.binds(t, oldPassword))
			}
			if stored := acct.userPassword(t); !strings.HasPrefix(stored, tc.wantStored) || old == aliceCrypt && strings.Contains(stored, "rounds=") {
				t.Errorf("userPassword = %.12s…, want %s…", stored, tc.wantStored)
			}
			b.expect("GET", link.Path, "", 303, "/pwreset/invalid")
			rg.log.waitLog(t, "password-changed notice sent", 1)
			if strings.Contains(rg.log.String(), newPassword) || strings.Contains(rg.log.String(), testenv.LDAPServicePassword) {
				t.Errorf("a password reached the log")
			}
		})
	}
}
