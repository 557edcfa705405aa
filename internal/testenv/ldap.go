package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
)

// The directory every [LDAP] server holds when it starts: a suffix, the people and service
// branches, a password policy and two service accounts with different rights.
const (
	LDAPBaseDN       = "dc=example,dc=org"
	LDAPPeopleDN     = "ou=people,dc=example,dc=org"
	LDAPRootDN       = "cn=root,dc=example,dc=org"
	LDAPRootPassword = "root-secret"
	// LDAPServiceDN may write every userPassword but not read it, and sees the Password Modify
	// extended operation in the root DSE: the usual rights of a reset service.
	LDAPServiceDN = "cn=resetgate,ou=services,dc=example,dc=org"
	// LDAPAttrServiceDN may read and write every userPassword, but the root DSE hides
	// supportedExtension from it, so to it the server does not offer the extended operation:
	// a client bound as it must write userPassword itself.
	LDAPAttrServiceDN = "cn=resetgate-attr,ou=services,dc=example,dc=org"
	// LDAPServicePassword is both service accounts' password.
	LDAPServicePassword = "service-secret"
	// LDAPPolicyDN is the default ppolicy: pwdMinLength 12, pwdInHistory 3, pwdCheckQuality 1.
	LDAPPolicyDN = "cn=default,ou=policies,dc=example,dc=org"
	// LDAPServerHash is the scheme slapd itself hashes passwords in (password-hash): SHA-512
	// crypt, so that a value the server hashed ({CRYPT}$6$…) is told apart from one a client
	// wrote in the entry's own scheme.
	LDAPServerHash = "{CRYPT}"
)

// LDAPServer is a real OpenLDAP slapd started for one test by [LDAP] and killed when the test
// ends. Its configuration, database and certificate live in the test's temporary directory.
type LDAPServer struct {
	// URL is ldap://127.0.0.1:port, which offers StartTLS; LDAPSURL is ldaps://127.0.0.1:port.
	URL, LDAPSURL string
	// CAFile is the PEM certificate slapd presents (self-signed, for 127.0.0.1 and ::1 only).
	CAFile string
}

// LDAPOption configures the server [LDAP] starts.
type LDAPOption func(*ldapConfig)

type ldapConfig struct {
	ppolicy bool
}

// LDAPWithoutPolicy leaves the ppolicy overlay off: no password policy applies (its schema
// and the policy entry are still there).
func LDAPWithoutPolicy() LDAPOption { return func(c *ldapConfig) { c.ppolicy = false } }

const slapdConf = `# written by resetgate's internal/testenv for one test
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {{.Dir}}/resetgate-ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload argon2
pidfile {{.Dir}}/slapd.pid
password-hash {CRYPT}
password-crypt-salt-format "$6$%.16s"
TLSCertificateFile {{.Cert}}
TLSCertificateKeyFile {{.Key}}
TLSCACertificateFile {{.Cert}}

access to dn.base="" attrs=supportedExtension
	by dn.exact="{{.AttrService}}" none
	by * read
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "{{.Base}}"
rootdn "{{.Root}}"
rootpw {{.RootPassword}}
directory {{.Dir}}/db
maxsize 67108864
{{if .PPolicy}}overlay ppolicy
ppolicy_default "{{.Policy}}"
{{end}}access to attrs=userPassword
	by dn.exact="{{.AttrService}}" write
	by dn.exact="{{.Service}}" =wx
	by self write
	by anonymous auth
	by * none
access to attrs=unicodePwd
	by dn.exact="{{.AttrService}}" =w
	by dn.exact="{{.Service}}" =w
	by * none
access to * by * read
`

// adSchema gives slapd Active Directory's unicodePwd (AD's own OID and syntax: an octet
// string, one value) and an auxiliary class that allows it, so that tests can check what a
// client writes there. Like AD, the directory lets the service accounts write it and no one
// but the rootdn read it; unlike AD, it stores the bytes as given, checking nothing.
const adSchema = `# written by resetgate's internal/testenv: Active Directory's unicodePwd, for tests
attributetype ( 1.2.840.113556.1.4.90 NAME 'unicodePwd'
	DESC 'Active Directory password: the new password in double quotes, UTF-16LE'
	EQUALITY octetStringMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.15.1 NAME 'resetgateADUser'
	DESC 'an entry with an Active Directory password, for resetgate tests'
	AUXILIARY MAY unicodePwd )
`

// LDAPADClass is the auxiliary object class that lets a test entry hold unicodePwd.
const LDAPADClass = "resetgateADUser"

const slapdSeed = `dn: {{.Base}}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {{.People}}
objectClass: organizationalUnit
ou: people

dn: ou=services,{{.Base}}
objectClass: organizationalUnit
ou: services

dn: ou=policies,{{.Base}}
objectClass: organizationalUnit
ou: policies

dn: {{.Policy}}
objectClass: applicationProcess
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 12
pwdInHistory: 3
pwdCheckQuality: 1

dn: {{.Service}}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: resetgate
userPassword: {{.ServicePassword}}

dn: {{.AttrService}}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: resetgate-attr
userPassword: {{.ServicePassword}}
`

// LDAP starts slapd (Debian's `slapd`; TEST_SLAPD_BIN names another binary) with a slapd.conf
// of its own — schema core, cosine, inetorgperson and nis, the ppolicy overlay, back-mdb, and
// the argon2 module so that binds check {ARGON2} values, and Active Directory's unicodePwd
// attribute ([LDAPADClass]) —
// seeded with the entries described by the LDAP* constants, listening on free loopback ports
// for ldap:// (with StartTLS) and ldaps://. It waits until the server answers and kills it when
// the test ends. A missing slapd is handled by [Need]: a skip, or a failure in CI.
func LDAP(t testing.TB, opts ...LDAPOption) *LDAPServer {
	t.Helper()
	cfg := ldapConfig{ppolicy: true}
	for _, o := range opts {
		o(&cfg)
	}
	bin, err := slapdBinary()
	Need(t, "slapd (apt-get install slapd ldap-utils)", err)
	dir := t.TempDir()
	srv := &LDAPServer{CAFile: filepath.Join(dir, "cert.pem")}
	keyFile := filepath.Join(dir, "key.pem")
	if _, err := writeSelfSigned(srv.CAFile, keyFile); err != nil {
		t.Fatalf("slapd: generate certificate: %v", err)
	}
	vals := map[string]string{
		"Dir": dir, "Cert": srv.CAFile, "Key": keyFile, "Base": LDAPBaseDN, "People": LDAPPeopleDN,
		"Root": LDAPRootDN, "RootPassword": LDAPRootPassword, "Service": LDAPServiceDN,
		"AttrService": LDAPAttrServiceDN, "ServicePassword": LDAPServicePassword, "Policy": LDAPPolicyDN,
	}
	if cfg.ppolicy {
		vals["PPolicy"] = "on"
	}
	conf, seed := filepath.Join(dir, "slapd.conf"), filepath.Join(dir, "seed.ldif")
	schema := filepath.Join(dir, "resetgate-ad.schema")
	for file, text := range map[string]string{conf: slapdConf, seed: slapdSeed, schema: adSchema} {
		if err := writeTemplate(file, text, vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	// slapadd loads the seed offline, before the server starts: no bind, no race.
	slapadd := filepath.Join(filepath.Dir(bin), "slapadd")
	if _, err := os.Stat(slapadd); err != nil {
		slapadd = bin // slapd runs as slapadd when called by that name; Debian links them
	}
	if out, err := exec.Command(slapadd, "-f", conf, "-l", seed).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}

	var lastErr error
	for range 3 {
		port, tlsPort, err := freePorts()
		if err != nil {
			t.Fatalf("slapd: find free ports: %v", err)
		}
		srv.URL = "ldap://127.0.0.1:" + strconv.Itoa(port)
		srv.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(tlsPort)
		if lastErr = srv.start(t, bin, conf, port, tlsPort); lastErr == nil {
			return srv
		}
	}
	t.Fatalf("slapd did not start: %v", lastErr)
	return nil
}

// start runs slapd in the foreground (-d 0) and waits until both ports accept connections.
func (s *LDAPServer) start(t testing.TB, bin, conf string, port, tlsPort int) error {
	t.Helper()
	urls := fmt.Sprintf("%s/ %s/", s.URL, s.LDAPSURL)
	cmd := exec.Command(bin, "-f", conf, "-h", urls, "-d", "0")
	return startDaemon(t, "slapd", cmd, func(ctx context.Context) error { return dialBoth(ctx, port, tlsPort) })
}

func dialBoth(ctx context.Context, ports ...int) error {
	for _, p := range ports {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

func writeTemplate(file, text string, vals map[string]string) error {
	tmpl, err := template.New(filepath.Base(file)).Parse(text)
	if err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(f, vals); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slapdBinary finds slapd: TEST_SLAPD_BIN, then PATH, then /usr/sbin (not on a user's PATH).
// It also needs the schema files and modules Debian's package installs.
func slapdBinary() (string, error) {
	bin := os.Getenv("TEST_SLAPD_BIN")
	if bin == "" {
		bin = "slapd"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/slapd"); serr != nil {
			return "", errors.New("slapd not found on PATH or in /usr/sbin")
		}
		p = "/usr/sbin/slapd"
	}
	for _, need := range []string{"/etc/ldap/schema/inetorgperson.schema", "/usr/lib/ldap/ppolicy.so"} {
		if _, err := os.Stat(need); err != nil {
			return "", fmt.Errorf("slapd found, but %s is missing", need)
		}
	}
	return p, nil
}
