package ldap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/reset"
)

// Active Directory offers no Password Modify extended operation and hashes no userPassword
// value a client writes. A new password is written to unicodePwd ([MS-ADTS] 3.1.1.3.1.5): the
// password in double quotes, encoded as UTF-16LE. An administrator's reset — what a service
// account with the "Reset password" right does — is one modify that replaces unicodePwd; a
// user's own change deletes the old value and adds the new one in one modify, which needs the
// old password, which a reset service never has, so resetgate only resets. AD takes either
// only over an encrypted connection: LDAPS, StartTLS, or SASL sealing (which go-ldap does not
// do), so TLS is required.

// unicodePwdAttribute is Active Directory's password attribute (write-only).
const unicodePwdAttribute = "unicodePwd"

// adChangedAttribute replaces the default changed_attribute on Active Directory, which has no
// entryCSN: pwdLastSet changes exactly when the password does.
const adChangedAttribute = "pwdLastSet"

var errADPlain = errors.New(`unicodePwd (Active Directory) takes a new password only over an encrypted connection: set tls = "ldaps" (an ldaps:// url, port 636) or "starttls"`)

// encodeUnicodePwd is password as unicodePwd's value: `"password"` in UTF-16LE, characters
// outside the Basic Multilingual Plane as surrogate pairs.
func encodeUnicodePwd(password string) ([]byte, error) {
	if !utf8.ValidString(password) {
		return nil, errors.New("ldap: the password is not valid UTF-8")
	}
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b, nil
}

// unicodePwdReset is the administrator's reset: one replace of unicodePwd with value, no
// controls (AD answers policy refusals in its diagnostic message, not in a ppolicy control).
func unicodePwdReset(dn string, value []byte) *goldap.ModifyRequest {
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace(unicodePwdAttribute, []string{string(value)})
	return req
}

// setUnicodePwd resets dn's password to password on Active Directory.
func setUnicodePwd(c *goldap.Conn, dn, password string) error {
	value, err := encodeUnicodePwd(password)
	if err != nil {
		return err
	}
	_, err = c.ModifyWithResult(unicodePwdReset(dn, value))
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return reset.ErrPasswordChanged
	}
	if r := adRefusal(err); r != nil {
		return r
	}
	return fmt.Errorf("ldap: modify unicodePwd of %s: %w", dn, err)
}

// adPolicySentence is what the user reads when Active Directory's password policy refuses:
// AD does not say which rule failed.
const adPolicySentence = "password.dir_complexity" // a catalogue key

// adRefusal maps Active Directory's answers to a unicodePwd reset: the Windows error code that
// starts its diagnostic message ("0000052D: Constraint violation - …") says what went wrong.
// A policy refusal is a *reset.PolicyError; a refusal the user cannot help is an error saying
// what the operator must change; nil for anything else.
func adRefusal(err error) error {
	var le *goldap.Error
	if !errors.As(err, &le) {
		return nil
	}
	code := adErrorCode(le)
	switch {
	case code == "0000052D", code == "" && le.ResultCode == goldap.LDAPResultConstraintViolation:
		// ERROR_PASSWORD_RESTRICTION: length, complexity, history or minimum age.
		return &reset.PolicyError{Problems: []reset.Problem{{Key: adPolicySentence}}}
	case le.ResultCode == goldap.LDAPResultInsufficientAccessRights || code == "00000005":
		return fmt.Errorf("ldap: Active Directory refuses the service account a password reset on this account (%s): delegate \"Reset password\" on the accounts' OU to it: %w", code, err)
	case le.ResultCode == goldap.LDAPResultUnwillingToPerform:
		return fmt.Errorf("ldap: Active Directory will not set unicodePwd (%s): it takes passwords only over LDAPS or StartTLS with at least 128-bit encryption; check the domain controller's certificate and that the account exists and may have a password: %w", code, err)
	}
	return nil
}

// adErrorCode is the eight hex digits of the Windows error code that open Active Directory's
// diagnostic messages, or "" when the message has none.
func adErrorCode(le *goldap.Error) string {
	if le.Err == nil {
		return ""
	}
	msg := le.Err.Error()
	if len(msg) < 9 || msg[8] != ':' {
		return ""
	}
	code := strings.ToUpper(msg[:8])
	for _, c := range code {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return ""
		}
	}
	return code
}
