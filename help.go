package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// commandInfo is what `resetgate help` and a command's -h say about it.
type commandInfo struct {
	name    string
	args    string      // after the flags, e.g. "EMAIL"
	summary string      // one line
	actions [][2]string // sub-actions and what each does, for tokens and queue
}

// commands lists every command in the order help shows them. The dispatch is in [run].
var commands = []commandInfo{
	{name: "serve", summary: "run the proxy and the reset pages (the default command)"},
	{name: "check", summary: "validate the config, then check the database, mail server, upstream, store and data_dir live; exit 1 on problems, 2 for an invalid config"},
	{name: "demo", summary: "run a self-contained demo: an example legacy app on SQLite with resetgate in front, mail shown in the terminal"},
	{name: "doctor", summary: "report which hash formats the app's users have and whether resetgate can write them"},
	{name: "hash", summary: "read a password from stdin and print its hash"},
	{name: "send-test-mail", summary: "send a test message through the configured transport"},
	{name: "send-link", args: "EMAIL", summary: "mail a reset link to an account now (through a running server's admin API when there is one; -print prints it instead)"},
	{name: "tokens", args: "ACTION", summary: "list, revoke and purge pending reset links (shows token ids, never a usable token; through a running server's admin API when there is one)", actions: [][2]string{
		{"list [EMAIL]", "every pending link (or one account's): user, address, issue and expiry time, state"},
		{"revoke EMAIL", "delete every link of the account with that address"},
		{"purge", "delete the expired links"},
	}},
	{name: "queue", args: "ACTION", summary: "inspect the mail queue, send jobs again, drop them (through a running server's admin API when there is one)", actions: [][2]string{
		{"list", "every job: kind, attempts, next attempt, state, last error"},
		{"retry ID|all", "make a job (or every job, given-up ones included) due now"},
		{"drop ID", "delete a job"},
	}},
	{name: "audit", summary: "print the audit trail as JSON lines: requests, links opened, passwords changed, admin actions (-since 24h, or an RFC 3339 time)"},
	{name: "healthcheck", summary: "exit 0 if a running resetgate's admin /healthz answers (for container health checks)"},
	{name: "version", summary: "print the version, Go version and commit (also -v, --version)"},
	{name: "help", args: "[COMMAND]", summary: "list the commands, or show one command's flags (also -h, --help)"},
}

func commandByName(name string) (commandInfo, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return commandInfo{}, false
}

// usage is `resetgate help`.
func usage() string {
	var b strings.Builder
	b.WriteString("resetgate — a password-reset flow in front of an unmodified legacy web app.\n\n")
	b.WriteString("Usage: resetgate [COMMAND] [-config config.toml] [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-15s %s\n", c.name, wrap(c.summary, 62, strings.Repeat(" ", 18)))
	}
	b.WriteString("\nEvery command that reads the config takes -config (default: config.toml in the current\n" +
		"directory). Run `resetgate COMMAND -h` for a command's flags and arguments; README.md\n" +
		"explains the configuration keys.\n")
	return b.String()
}

// wrap breaks s into lines of at most width bytes, indenting every line after the first.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// newFlags returns a command's flag set, whose usage is the command's line in [commands], its
// actions and its flags.
func newFlags(env *cmdEnv, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() { commandUsage(fs.Output(), fs) }
	return fs
}

func commandUsage(w io.Writer, fs *flag.FlagSet) {
	c, _ := commandByName(fs.Name())
	flags := ""
	fs.VisitAll(func(*flag.Flag) { flags = " [flags]" })
	fmt.Fprintf(w, "usage: resetgate %s%s", c.name, flags)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, "\n\n%s.\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
	if len(c.actions) > 0 {
		fmt.Fprintf(w, "\n%s:\n", strings.ToLower(c.args)+"s")
		for _, a := range c.actions {
			fmt.Fprintf(w, "  %-14s %s\n", a[0], a[1])
		}
	}
	if flags != "" {
		fmt.Fprintf(w, "\nflags:\n")
		fs.PrintDefaults()
	}
}

// parseFlags parses a command's flags. -h (or -help, --help) prints the command's usage on
// stdout and returns [flag.ErrHelp], which [run] turns into success; a bad flag prints the
// problem and the usage on stderr and exits 2.
func parseFlags(env *cmdEnv, fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	fs.SetOutput(env.stderr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		env.stdout.Write(out.Bytes())
		return flag.ErrHelp
	}
	env.stderr.Write(out.Bytes())
	return exitCode(2)
}
