package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/reset"
)

// errStandIn: the entry's userPassword could not be read, so it cannot be replaced by value.
var errStandIn = errors.New("the directory does not offer the Password Modify extended operation (to this account) and the service account cannot read userPassword, so there is no old value to replace: grant the service account read access to userPassword, or let the server offer the extended operation")

// SetPasswordPlain sets the account's password if its PasswordHash is still oldHash.
//
// With the Password Modify extended operation, the directory receives password and hashes it
// under its own scheme and policy; hash is not called. The extended operation has no
// compare-and-swap of its own (OpenLDAP refuses the assertion control on it), so the entry is
// read again on the same connection just before, and a change in between is the only window
// left: a matter of milliseconds, while the claimed token already excludes a second
// completion through resetgate.
//
// On Active Directory, unicodePwd is replaced with password (activedirectory.go), after the same
// re-read; hash is not called.
//
// Without either, hash gives the new value in the entry's own scheme and userPassword is
// replaced as in [Users.SetPassword].
//
// A refusal by the directory's password policy (ppolicy: too short, in history, not good
// enough, changed too recently) is a *reset.PolicyError; nothing was written.
func (u *Users) SetPasswordPlain(ctx context.Context, old reset.User, password string, hash func() (string, error)) error {
	id, oldHash := old.ID, old.PasswordHash
	if password == "" {
		// An empty newPasswd asks the server to generate one (RFC 3062 §2).
		return errors.New("ldap: refusing to set an empty password")
	}
	c, done, err := u.conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	e, err := u.current(c, id, oldHash)
	if err != nil {
		return err
	}
	if u.ad {
		return setUnicodePwd(c, e.DN, password)
	}
	if u.extended {
		return u.passwordModify(c, e.DN, password)
	}
	if isStandIn(oldHash) {
		return fmt.Errorf("ldap: %s: %w", e.DN, errStandIn)
	}
	newHash, err := hash()
	if err != nil {
		return fmt.Errorf("ldap: %s: no scheme to write userPassword in: %w", e.DN, err)
	}
	return u.replace(c, e, newHash)
}

// SetPassword replaces the account's userPassword with newHash if it still holds oldHash, in
// one modify that deletes every current value and adds newHash. The modify is atomic
// (RFC 4511 §4.6) and its delete names the old values exactly, so it fails, writing nothing,
// if any of them changed: the compare-and-swap. It returns ErrPasswordChanged then, and when
// the account is gone.
func (u *Users) SetPassword(ctx context.Context, old reset.User, newHash string) error {
	id, oldHash := old.ID, old.PasswordHash
	if u.ad {
		return fmt.Errorf("ldap: %s: Active Directory takes a password (unicodePwd), never a hash", id)
	}
	if isStandIn(oldHash) {
		return fmt.Errorf("ldap: %s: %w", id, errStandIn)
	}
	c, done, err := u.conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	e, err := u.current(c, id, oldHash)
	if err != nil {
		return err
	}
	return u.replace(c, e, newHash)
}

// current reads the account and checks that its PasswordHash is still oldHash.
func (u *Users) current(c *goldap.Conn, id, oldHash string) (*goldap.Entry, error) {
	e, err := u.entry(c, id)
	if errors.Is(err, reset.ErrUserNotFound) {
		return nil, reset.ErrPasswordChanged
	}
	if err != nil {
		return nil, err
	}
	v, err := u.version(e)
	if err != nil {
		return nil, err
	}
	if v != oldHash {
		return nil, reset.ErrPasswordChanged
	}
	return e, nil
}

// replace writes newHash as e's only userPassword value, in one modify that fails, writing
// nothing, when the values read before are no longer there: the compare-and-swap. A modify is
// atomic (RFC 4511 §4.6). Where the server supports the assertion control (RFC 4528), it is a
// replace asserting the old values; elsewhere a delete of exactly the old values plus an add.
// The assertion is preferred because OpenLDAP's ppolicy reads a deleted userPassword value as
// the user's old password in clear, and refuses the delete-and-add from a service account
// ("Must supply correct old password").
func (u *Users) replace(c *goldap.Conn, e *goldap.Entry, newHash string) error {
	var old []string
	for _, v := range e.GetRawAttributeValues(passwordAttribute) {
		old = append(old, string(v))
	}
	if slices.Contains(old, newHash) {
		return fmt.Errorf("ldap: %s: the new hash equals a current one", e.DN)
	}
	controls := []goldap.Control{goldap.NewControlBeheraPasswordPolicy()}
	req := goldap.NewModifyRequest(e.DN, nil)
	if u.assertion {
		filter := ""
		for _, v := range old {
			filter += "(" + passwordAttribute + "=" + goldap.EscapeFilter(v) + ")"
		}
		if len(old) > 1 {
			filter = "(&" + filter + ")"
		}
		a, err := newAssertion(filter)
		if err != nil {
			return fmt.Errorf("ldap: %s: %w", e.DN, err)
		}
		controls = append(controls, a)
		req.Replace(passwordAttribute, []string{newHash})
	} else {
		req.Delete(passwordAttribute, old)
		req.Add(passwordAttribute, []string{newHash})
	}
	req.Controls = controls
	_, err := c.ModifyWithResult(req)
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchAttribute, goldap.LDAPResultNoSuchObject, goldap.LDAPResultAssertionFailed):
		// The old value is gone: the password changed since it was read.
		return reset.ErrPasswordChanged
	}
	if r := refusal(err); r != nil {
		return r
	}
	return fmt.Errorf("ldap: modify userPassword of %s: %w", e.DN, err)
}

// assertionOID is the assertion control (RFC 4528).
const assertionOID = "1.3.6.1.1.12"

// assertion is a critical assertion control: the server performs the operation only if the
// entry matches the filter, and answers assertionFailed otherwise.
type assertion struct {
	filter *ber.Packet
}

func newAssertion(filter string) (*assertion, error) {
	p, err := goldap.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("assertion %s: %w", filter, err)
	}
	return &assertion{filter: p}, nil
}

func (a *assertion) GetControlType() string { return assertionOID }

func (a *assertion) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, assertionOID, "Control Type (Assertion)"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(a.filter.Bytes()), "Control Value (Filter)"))
	return p
}

func (a *assertion) String() string { return "Control Type: Assertion (" + assertionOID + ")" }

// passwordModify sends the Password Modify extended operation for dn with the password
// policy request control, whose answer says why ppolicy refused, if it did.
func (u *Users) passwordModify(c *goldap.Conn, dn, password string) error {
	// PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OPTIONAL,
	//   oldPasswd [1] OPTIONAL, newPasswd [2] OPTIONAL } (RFC 3062 §2). No oldPasswd: the
	// service account resets, it does not know the old password.
	value := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PasswdModifyRequestValue")
	value.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, dn, "userIdentity"))
	value.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, password, "newPasswd"))
	req := goldap.NewExtendedRequest(passwordModifyOID, value)
	req.Controls = []goldap.Control{goldap.NewControlBeheraPasswordPolicy()}
	_, err := c.Extended(req)
	if err == nil {
		return nil
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return reset.ErrPasswordChanged
	}
	if r := refusal(err); r != nil {
		return r
	}
	return fmt.Errorf("ldap: Password Modify extended operation for %s: %w", dn, err)
}

// refusal turns a password policy refusal into a *reset.PolicyError with a sentence for the
// user, or an error saying what the operator must change when the user cannot help it; nil
// when err is no refusal. The reason comes from the password policy response control
// (draft-behera-ldap-password-policy §6.2), or, from servers that send none, from the result
// code constraintViolation alone.
func refusal(err error) error {
	var le *goldap.Error
	if !errors.As(err, &le) {
		return nil
	}
	code := int8(-1)
	if le.Packet != nil && len(le.Packet.Children) > 2 {
		for _, child := range le.Packet.Children[2].Children {
			if ctrl, derr := goldap.DecodeControl(child); derr == nil {
				if pp, ok := ctrl.(*goldap.ControlBeheraPasswordPolicy); ok {
					code = pp.Error
				}
			}
		}
	}
	sentence := map[int8]string{
		goldap.BeheraInsufficientPasswordQuality: "password.dir_quality",
		goldap.BeheraPasswordTooShort:            "password.dir_too_short",
		goldap.BeheraPasswordTooYoung:            "password.dir_too_young",
		goldap.BeheraPasswordInHistory:           "password.dir_history",
	}
	if s, ok := sentence[code]; ok {
		return &reset.PolicyError{Problems: []reset.Problem{{Key: s}}}
	}
	switch code {
	case goldap.BeheraMustSupplyOldPassword, goldap.BeheraPasswordModNotAllowed, goldap.BeheraChangeAfterReset:
		return fmt.Errorf("ldap: the password policy refuses resets by the service account (%s): check pwdSafeModify and pwdAllowUserChange, and the service account's rights: %w", goldap.BeheraPasswordPolicyErrorMap[code], err)
	}
	if le.ResultCode == goldap.LDAPResultConstraintViolation {
		return &reset.PolicyError{Problems: []reset.Problem{{Key: "password.dir_policy"}}}
	}
	return nil
}
