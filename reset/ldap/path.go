package ldap

import (
	"context"
	"fmt"
	"slices"

	goldap "github.com/go-ldap/ldap/v3"
)

// adCapabilityOID in a root DSE's supportedCapabilities marks an Active Directory domain
// controller (LDAP_CAP_ACTIVE_DIRECTORY_OID, [MS-ADTS] 3.1.1.3.4.3).
const adCapabilityOID = "1.2.840.113556.1.4.800"

// dse is what the root DSE says, as the bound account sees it (ACLs may hide parts from some).
type dse struct {
	passwordModify bool // lists the Password Modify extended operation
	assertion      bool // lists the assertion control
	activeDir      bool // says it is an Active Directory domain controller
}

// choosePath reads the root DSE, once, and decides how passwords are written.
func (u *Users) choosePath(ctx context.Context) error {
	c, done, err := u.conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	d, err := rootDSE(c)
	if err != nil {
		return err
	}
	u.assertion = d.assertion
	switch u.o.PasswordWrite {
	case "extended":
		if !d.passwordModify {
			return fmt.Errorf("ldap: password_write = \"extended\", but %s does not list the Password Modify extended operation (%s) in its root DSE's supportedExtension", u.where(), passwordModifyOID)
		}
		u.extended = true
	case "unicodepwd":
		u.ad = true
	case "auto":
		u.ad = d.activeDir
		u.extended = !u.ad && d.passwordModify
	}
	if u.ad {
		if u.o.TLS == "none" {
			return fmt.Errorf("ldap: tls: %s is Active Directory: %w", u.where(), errADPlain)
		}
		if !u.changedSet {
			// AD has no entryCSN; pwdLastSet changes exactly when the password does.
			u.o.ChangedAttribute = adChangedAttribute
		}
	}
	return nil
}

// rootDSE reads the root DSE.
func rootDSE(c *goldap.Conn) (dse, error) {
	res, err := c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedExtension", "supportedControl", "supportedCapabilities"}, nil))
	if err != nil {
		return dse{}, fmt.Errorf("ldap: read the root DSE: %w", err)
	}
	if len(res.Entries) == 0 {
		return dse{}, nil
	}
	e := res.Entries[0]
	return dse{
		passwordModify: slices.Contains(e.GetAttributeValues("supportedExtension"), passwordModifyOID),
		assertion:      slices.Contains(e.GetAttributeValues("supportedControl"), assertionOID),
		activeDir:      slices.Contains(e.GetAttributeValues("supportedCapabilities"), adCapabilityOID),
	}, nil
}

// Describe names the directory and how passwords are written, for `resetgate check`.
func (u *Users) Describe() string {
	return fmt.Sprintf("ldap %s (tls %s, base %s; passwords written with %s)", u.where(), u.o.TLS, u.o.BaseDN, u.Writes())
}

// Writes says how new passwords are written, for `resetgate check` and doctor.
func (u *Users) Writes() string {
	switch {
	case u.ad:
		return "Active Directory's unicodePwd (the directory hashes it)"
	case u.extended:
		return "the Password Modify extended operation"
	}
	return "userPassword in each entry's own scheme"
}

// Extended reports whether the directory hashes new passwords itself — through the Password
// Modify extended operation, or as Active Directory's unicodePwd — rather than taking
// userPassword values resetgate hashes.
func (u *Users) Extended() bool { return u.extended || u.ad }
