// Command resetgate puts a complete "forgot password" flow in front of an unmodified legacy
// web app: it answers the routes under /pwreset itself, writes new passwords into the app's
// own user table in the app's own hash format, and forwards every other request to the app.
//
// Run `resetgate help` for the commands; the README explains the configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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

// run is the whole program: main only wires the process's environment into it, so tests can
// run resetgate in-process with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	} else if len(rest) > 0 {
		// Help and version the way people type them: resetgate --help, -h, -v, --version.
		switch rest[0] {
		case "-h", "-help", "--help":
			cmd, rest = "help", rest[1:]
		case "-v", "-version", "--version":
			cmd, rest = "version", rest[1:]
		}
	}
	env := &cmdEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, env, cmd, rest)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the command printed its usage, as asked
	}
	return err
}

func dispatch(ctx context.Context, env *cmdEnv, cmd string, rest []string) error {
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
	case "audit":
		return cmdAudit(ctx, env, rest)
	case "queue":
		return cmdQueue(ctx, env, rest)
	case "healthcheck":
		return cmdHealthcheck(ctx, env, rest)
	case "version":
		fmt.Fprintln(env.stdout, versionString())
		return nil
	case "help":
		if len(rest) > 0 {
			if _, ok := commandByName(rest[0]); ok && rest[0] != "help" && rest[0] != "version" {
				return dispatch(ctx, env, rest[0], []string{"-h"})
			}
			fmt.Fprint(env.stderr, usage())
			return fmt.Errorf("unknown command %q (see `resetgate help`)", rest[0])
		}
		fmt.Fprint(env.stdout, usage())
		return nil
	}
	fmt.Fprint(env.stderr, usage())
	return fmt.Errorf("unknown command %q (see `resetgate help`)", cmd)
}

// cmdEnv is what every command gets from the process.
type cmdEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}
