// Command resetgate puts a complete "forgot password" flow in front of an unmodified legacy
// web app: it answers the routes under /pwreset itself, writes new passwords into the app's
// own user table in the app's own hash format, and forwards every other request to the app.
//
// Run `resetgate help` for the commands; the README explains the configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful stop; once it has been seen, the default action is
	// back, so that a second Ctrl-C (or SIGTERM) ends the process at once. Nothing is lost
	// then either: a job in hand stays leased and is delivered again.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "resetgate:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a status and no further message (the command printed its own
// report).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usage is `resetgate help`.
const usage = `resetgate — a password-reset flow in front of an unmodified legacy web app.

Usage:
  resetgate [serve] [-config config.toml]   run the proxy and the reset pages (default command)
  resetgate check   [-config config.toml]   validate the config, then check the database, mail
                                            server, upstream, store and data_dir; exit 1 on problems
  resetgate demo    [-listen 127.0.0.1:8080] run a self-contained demo: an example legacy app on
                                            SQLite with resetgate in front, mail shown in the terminal
  resetgate doctor  [-config …] [-test-user EMAIL -test-password-stdin]
                                            report which hash formats the app's users have and
                                            whether resetgate can write them
  resetgate hash    -scheme NAME            read a password from stdin and print its hash
  resetgate send-test-mail -to ADDRESS      send a test message through the configured transport
  resetgate send-link [-print] EMAIL        issue a reset link for an account (mails it; -print
                                            prints it instead)
  resetgate tokens  list | revoke EMAIL | purge
  resetgate queue   list | retry ID|all | drop ID
  resetgate healthcheck [-url URL]          exit 0 if the admin /healthz answers (container health checks)
  resetgate version                         print the version, Go version and commit
  resetgate help                            this text

Every command that reads the config takes -config (default: config.toml in the current
directory). See README.md for the configuration keys.
`

// run is the whole program: main only wires the process's environment into it, so tests can
// run resetgate in-process with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		cmd, rest = rest[0], rest[1:]
	}
	env := &cmdEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "serve":
		return cmdServe(ctx, env, rest)
	case "check":
		return cmdCheck(ctx, env, rest)
	case "demo":
		return cmdDemo(ctx, env, rest)
	case "doctor":
		return cmdDoctor(ctx, env, rest)
	case "hash":
		return cmdHash(ctx, env, rest)
	case "send-test-mail":
		return cmdSendTestMail(ctx, env, rest)
	case "send-link":
		return cmdSendLink(ctx, env, rest)
	case "tokens":
		return cmdTokens(ctx, env, rest)
	case "queue":
		return cmdQueue(ctx, env, rest)
	case "healthcheck":
		return cmdHealthcheck(ctx, env, rest)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q (see `resetgate help`)", cmd)
}

// cmdEnv is what every command gets from the process.
type cmdEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}
