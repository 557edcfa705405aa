package ldap

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/internal/testenv"
	"resetgate/reset"
)

func TestEncodeUnicodePwd(t *testing.T) {
	for _, tt := range []struct{ password, hex string }{
		// Microsoft's own example ([MS-ADTS] 3.1.1.3.1.5.1, KB 269190): "newPassword".
		{"newPassword", "22006e0065007700500061007300730077006f00720064002200"},
		// é is one UTF-16 unit; 😀 (U+1F600) the surrogate pair D83D DE00.
		{"é😀", "2200e9003dd800de2200"},
		{`a"b`, "22006100220062002200"},
	} {
		got, err := encodeUnicodePwd(tt.password)
		if err != nil || hex.EncodeToString(got) != tt.hex {
			t.Errorf("encodeUnicodePwd(%q) = %x, %v, want %s", tt.password, got, err, tt.hex)
		}
	}
	if _, err := encodeUnicodePwd("bad \xff"); err == nil {
		t.Error("encodeUnicodePwd of invalid UTF-8 succeeded")
	}
}

// fakeAD answers one connection's requests with the packets reply returns, recording each
// request's bytes.
type fakeAD struct {
	requests [][]byte
	reply    func(id int64, op *ber.Packet) []*ber.Packet
}

func (f *fakeAD) conn(t *testing.T) *goldap.Conn {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		for {
			p, err := ber.ReadPacket(server)
			if err != nil {
				return
			}
			f.requests = append(f.requests, p.Bytes())
			if len(p.Children) < 2 || p.Children[1].Tag == goldap.ApplicationUnbindRequest {
				return
			}
			for _, r := range f.reply(p.Children[0].Value.(int64), p.Children[1]) {
				if _, err := server.Write(r.Bytes()); err != nil {
					return
				}
			}
		}
	}()
	c := goldap.NewConn(client, true)
	c.Start()
	t.Cleanup(func() { c.Close() })
	return c
}

func message(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	return p
}

func result(id int64, tag ber.Tag, code int64, diagnostic string) *ber.Packet {
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "LDAPResult")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "resultCode"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diagnostic, "diagnosticMessage"))
	return message(id, r)
}

// TestUnicodePwdOnTheWire: the reset is exactly the modify AD documents — one replace of
// unicodePwd with the quoted UTF-16LE password, no controls — and AD's answers map to a
// policy problem for the user or an error for the operator.
func TestUnicodePwdOnTheWire(t *testing.T) {
	// ModifyRequest ::= [APPLICATION 6] SEQUENCE { object "cn=a", changes SEQUENCE OF
	// SEQUENCE { operation replace (2), modification { type "unicodePwd", vals SET OF
	// { '"p1"' as UTF-16LE } } } } (RFC 4511 §4.6), written out by hand.
	const want = "6627" + "0404636e3d61" + "301f301d" + "0a0102" + "3018" + "040a756e69636f6465507764" + "310a" + "0408220070003100" + "2200"
	for _, tt := range []struct {
		name       string
		code       int64
		diagnostic string
		check      func(error) bool
	}{
		{"success", 0, "", func(err error) bool { return err == nil }},
		{"policy", goldap.LDAPResultConstraintViolation,
			"0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n",
			func(err error) bool {
				var pe *reset.PolicyError
				return errors.As(err, &pe) && len(pe.Problems) == 1 && pe.Problems[0].Key == "password.dir_complexity"
			}},
		{"not encrypted", goldap.LDAPResultUnwillingToPerform, "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0\n",
			func(err error) bool {
				return err != nil && strings.Contains(err.Error(), "LDAPS or StartTLS") && !isPolicy(err)
			}},
		{"no right", goldap.LDAPResultInsufficientAccessRights, "00000005: SecErr: DSID-031A11E2, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n",
			func(err error) bool {
				return err != nil && strings.Contains(err.Error(), `"Reset password"`) && !isPolicy(err)
			}},
		{"gone", goldap.LDAPResultNoSuchObject, "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT)", func(err error) bool { return errors.Is(err, reset.ErrPasswordChanged) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAD{reply: func(id int64, op *ber.Packet) []*ber.Packet {
				return []*ber.Packet{result(id, goldap.ApplicationModifyResponse, tt.code, tt.diagnostic)}
			}}
			err := setUnicodePwd(f.conn(t), "cn=a", "p1")
			if !tt.check(err) {
				t.Errorf("setUnicodePwd with AD answering %d %q = %v", tt.code, tt.diagnostic, err)
			}
			if len(f.requests) == 0 {
				t.Fatal("no request reached the server")
			}
			msg := ber.DecodePacket(f.requests[0])
			if len(msg.Children) != 2 {
				t.Errorf("the modify carries %d parts, want messageID and operation only (no controls)", len(msg.Children))
			}
			if got := hex.EncodeToString(msg.Children[1].Bytes()); got != want {
				t.Errorf("modify request = %s\nwant             %s", got, want)
			}
		})
	}
}

func isPolicy(err error) bool {
	var pe *reset.PolicyError
	return errors.As(err, &pe)
}

// TestRootDSEDetectsActiveDirectory: supportedCapabilities with AD's OID makes auto choose
// unicodePwd (slapd cannot claim to be AD, so a fake root DSE stands in).
func TestRootDSEDetectsActiveDirectory(t *testing.T) {
	for _, tt := range []struct {
		caps []string
		want bool
	}{
		{[]string{"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670", "1.2.840.113556.1.4.1791"}, true},
		{nil, false},
		{[]string{"1.2.840.113556.1.4.1851"}, false}, // AD LDS: userPassword, not unicodePwd
	} {
		f := &fakeAD{reply: func(id int64, op *ber.Packet) []*ber.Packet {
			entry := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultEntry, nil, "SearchResultEntry")
			entry.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "objectName"))
			attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
			attr := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
			attr.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "supportedCapabilities", "type"))
			vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
			for _, c := range tt.caps {
				vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c, "value"))
			}
			attr.AppendChild(vals)
			attrs.AppendChild(attr)
			entry.AppendChild(attrs)
			return []*ber.Packet{message(id, entry), result(id, goldap.ApplicationSearchResultDone, 0, "")}
		}}
		d, err := rootDSE(f.conn(t))
		if err != nil || d.activeDir != tt.want || d.passwordModify {
			t.Errorf("rootDSE with supportedCapabilities %q = %+v, %v, want activeDir %v", tt.caps, d, err, tt.want)
		}
		if !bytes.Contains(f.requests[0], []byte("supportedCapabilities")) {
			t.Errorf("the root DSE search does not ask for supportedCapabilities")
		}
	}
}

// TestUnicodePwdAgainstSlapd: through Open and SetPasswordPlain over StartTLS, the value slapd
// stores in a test schema's unicodePwd (internal/testenv) is exactly what AD expects, and
// userPassword is untouched. This proves the request, not AD's handling of it.
func TestUnicodePwdAgainstSlapd(t *testing.T) {
	d := mustDirectory(t)
	dn := "uid=carol," + testenv.LDAPPeopleDN
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson", testenv.LDAPADClass})
	for attr, v := range map[string]string{"uid": "carol", "cn": "Carol", "sn": "Example", "mail": "carol@example.com", "userPassword": ssha(oldPassword)} {
		req.Attribute(attr, []string{v})
	}
	if err := d.root().Add(req); err != nil {
		t.Fatal(err)
	}
	o := d.options(testenv.LDAPServiceDN)
	o.PasswordWrite = "unicodepwd"
	if users := mustOpen(t, o); users.o.ChangedAttribute != "pwdLastSet" {
		t.Errorf("changed_attribute on AD = %q, want pwdLastSet in place of the default entryCSN", users.o.ChangedAttribute)
	}
	// slapd has no pwdLastSet: its modifyTimestamp fallback counts whole seconds, too coarse
	// for the stale-link check below.
	o.ChangedAttribute = "entryCSN"
	users := mustOpen(t, o)
	if !users.Extended() || !strings.Contains(users.Describe(), "unicodePwd") {
		t.Errorf("password_write = unicodepwd, but Describe says %q", users.Describe())
	}
	ctx := context.Background()
	u, err := users.FindUser(ctx, "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := users.SetPasswordPlain(ctx, u, newPassword, neverHash(t)); err != nil {
		t.Fatalf("SetPasswordPlain = %v", err)
	}
	res, err := d.root().Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"unicodePwd"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read unicodePwd: %v", err)
	}
	want, _ := encodeUnicodePwd(newPassword)
	if got := res.Entries[0].GetRawAttributeValue("unicodePwd"); !bytes.Equal(got, want) || len(got) != 2*(len(newPassword)+2) {
		t.Errorf("unicodePwd = %x, want %x", got, want)
	}
	if !d.canBind(dn, oldPassword) {
		t.Errorf("the unicodePwd reset changed userPassword")
	}
	// A second reset with the link of the first fails: the entry changed (entryCSN).
	if err := users.SetPasswordPlain(ctx, u, "another new password 7", neverHash(t)); !errors.Is(err, reset.ErrPasswordChanged) {
		t.Errorf("SetPasswordPlain with a stale version = %v, want ErrPasswordChanged", err)
	}
}

func TestUnicodePwdNeedsTLS(t *testing.T) {
	o := Options{URL: "ldap://127.0.0.1", TLS: "none", BindDN: "cn=svc,dc=example,dc=org", BindPassword: "x",
		BaseDN: "dc=example,dc=org", PasswordWrite: "unicodepwd"}
	ps := o.Problems()
	if len(ps) != 1 || ps[0].Option != "password_write" || !strings.Contains(ps[0].Msg, "encrypted connection") {
		t.Errorf("Problems with unicodepwd over tls none = %v, want one password_write problem", ps)
	}
	o.TLS = "starttls"
	if ps := o.Problems(); len(ps) != 0 {
		t.Errorf("Problems with unicodepwd over starttls = %v", ps)
	}
}
