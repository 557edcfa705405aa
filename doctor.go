package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"resetgate/reset"
	"resetgate/reset/passhash"
)

// doctorSample is how many stored hashes doctor reads.
const doctorSample = 500

// cmdDoctor reads a sample of the app's stored hashes, reports which schemes and parameters it
// finds, and says whether resetgate can write each one. With -test-user it also round-trips a
// real write on a test account: hash, write, verify, then restore the old hash.
func cmdDoctor(ctx context.Context, env *cmdEnv, args []string) error {
	var testUser *string
	var testPasswordStdin *bool
	_, path, err := flags(env, "doctor", args, func(fs *flag.FlagSet) {
		testUser = fs.String("test-user", "", "address of a TEST account to write a password to and restore")
		testPasswordStdin = fs.Bool("test-password-stdin", false, "read the test password from stdin (default: a generated one)")
	})
	if err != nil {
		return err
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	users, err := openUsers(ctx, cfg, env.getenv)
	if err != nil {
		return err
	}
	defer users.Close()
	quiet, _ := newLogger("text", "error", env.stderr)
	policy, err := newHashPolicy(cfg, quiet)
	if err != nil {
		return err
	}
	hashes, err := users.Sample(ctx, doctorSample)
	if err != nil {
		return err
	}
	out := env.stdout
	fmt.Fprintf(out, "resetgate doctor — %s\n", users.Describe())
	fmt.Fprintf(out, "configured: hash = %q, fallback_hash = %q\n\n", cfg.Users.Hash, cfg.Users.FallbackHash)

	type group struct {
		info  passhash.Info
		count int
		ok    bool
		why   string
	}
	groups := map[string]*group{}
	for _, h := range hashes {
		// Describe fills what it recognised even when it returns an error (a truncated or
		// unsupported hash of a known scheme), so those are told apart from unknown strings.
		info, derr := passhash.Describe(h)
		if derr != nil && info.Scheme == "" {
			info = passhash.Info{Scheme: "unrecognised"}
		}
		key := info.Scheme + "|" + info.Variant + "|" + info.Params
		g := groups[key]
		if g == nil {
			g = &group{info: info}
			if _, err := policy.For("doctor", h); err != nil {
				g.why = err.Error()
			} else {
				g.ok = true
			}
			groups[key] = g
		}
		g.count++
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].count > list[j].count })
	safe := len(hashes) > 0
	fmt.Fprintf(out, "%d hash(es) read:\n", len(hashes))
	for _, g := range list {
		status := "ok  "
		if !g.ok {
			status, safe = "FAIL", false
		}
		desc := strings.TrimSpace(strings.Join([]string{g.info.Scheme, g.info.Variant, g.info.Params}, "  "))
		fmt.Fprintf(out, "  %s %5d × %s\n", status, g.count, desc)
		for _, line := range formatLines(g.info, cfg.Users.Hash, g.ok) {
			fmt.Fprintf(out, "              %s\n", line)
		}
		if g.why != "" {
			fmt.Fprintf(out, "              %s\n", g.why)
		}
	}
	if d, ok := users.(interface {
		Extended() bool
		Writes() string
	}); ok && len(hashes) == 0 {
		// A directory: no readable userPassword is the usual, safe case when the directory
		// hashes new passwords itself.
		if d.Extended() {
			fmt.Fprintf(out, "  (the service account cannot read userPassword: nothing to judge; the directory hashes new passwords itself, written with %s)\n", d.Writes())
			safe = true
		} else {
			fmt.Fprintln(out, "  (no userPassword readable, and the directory does not offer the Password Modify extended operation: resetgate can write no password; grant the service account read access to userPassword)")
		}
	} else if len(hashes) == 0 {
		fmt.Fprintln(out, "  (the table has no rows: nothing to judge)")
	}

	if *testUser != "" && cfg.Users.Driver == "ldap" {
		// The old password of a directory account cannot be put back without knowing it (the
		// extended operation hashes what it is given), so there is no restoring round trip.
		return errors.New("-test-user is for SQL user stores; with a directory, reset a test account through the pages and bind with its new password")
	}
	if *testUser != "" {
		fmt.Fprintln(out)
		password := "resetgate-doctor-" + reset.TokenID(time.Now().String())[:12]
		if *testPasswordStdin {
			if password, err = readPassword(env, "Test password: ", false); err != nil {
				return err
			}
		}
		addr, err := lookupAddress(cfg, *testUser)
		if err == nil {
			err = roundTrip(ctx, users, policy, addr, password)
		}
		if err != nil {
			fmt.Fprintf(out, "FAIL round trip on %s: %v\n", *testUser, err)
			safe = false
		} else {
			fmt.Fprintf(out, "ok   round trip on %s: wrote a new hash, verified it, restored the old one\n", *testUser)
		}
	}
	fmt.Fprintln(out)
	if !safe {
		fmt.Fprintln(out, "NOT SAFE: fix the FAIL lines above (usually: set [users] hash to the scheme your app verifies) before putting resetgate in front of this app.")
		return exitCode(1)
	}
	fmt.Fprintln(out, "safe: resetgate can write every hash format found, the way the app writes it.")
	return nil
}

// roundTrip writes password to the test account in the scheme resetgate would choose,
// verifies it, and restores the old hash (after_reset statements run both times).
func roundTrip(ctx context.Context, users interface {
	FindUser(context.Context, string) (reset.User, error)
	SetPassword(ctx context.Context, old reset.User, newHash string) error
}, policy *passhash.Policy, addr, password string) error {
	u, err := users.FindUser(ctx, addr)
	if err != nil {
		return err
	}
	h, err := policy.For(u.ID, u.PasswordHash)
	if err != nil {
		return err
	}
	encoded, err := h.Hash(password)
	if err != nil {
		return err
	}
	if err := users.SetPassword(ctx, u, encoded); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	ok, verr := passhash.Verify(password, encoded)
	if rerr := users.SetPassword(context.WithoutCancel(ctx), reset.User{ID: u.ID, Email: u.Email, PasswordHash: encoded}, u.PasswordHash); rerr != nil {
		return fmt.Errorf("RESTORE FAILED, the account now has the test password: %w", rerr)
	}
	if verr != nil || !ok {
		return errors.Join(errors.New("the written hash does not verify"), verr)
	}
	return nil
}
