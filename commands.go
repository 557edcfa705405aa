package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"resetgate/reset"
	"resetgate/reset/passhash"
)

// flags parses a command's flags: -config and whatever add registers.
func flags(env *cmdEnv, name string, args []string, add func(*flag.FlagSet)) (*flag.FlagSet, *string, error) {
	fs := newFlags(env, name)
	path := configFlag(fs)
	if add != nil {
		add(fs)
	}
	if err := parseFlags(env, fs, args); err != nil {
		return nil, nil, err
	}
	return fs, path, nil
}

// cmdHash reads a password from stdin (without echo on a terminal) and prints its hash.
func cmdHash(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "hash")
	scheme := fs.String("scheme", "", "hash scheme: "+strings.Join(passhash.Names(), ", "))
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if *scheme == "" {
		fmt.Fprintln(env.stderr, "resetgate hash: -scheme is required ("+strings.Join(passhash.Names(), ", ")+")")
		return exitCode(2)
	}
	h, err := passhash.New(*scheme)
	if err != nil {
		return err
	}
	password, err := readPassword(env, "Password: ", true)
	if err != nil {
		return err
	}
	if password == "" {
		return errors.New("empty password refused")
	}
	if max := h.MaxPasswordBytes(); max > 0 && len(password) > max {
		return fmt.Errorf("the password has %d bytes; %s uses only the first %d, so it is refused rather than silently cut", len(password), *scheme, max)
	}
	encoded, err := h.Hash(password)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, encoded)
	return nil
}

// readPassword reads one line from stdin; on a terminal it prompts on stderr without echo and,
// with confirm, asks twice.
func readPassword(env *cmdEnv, prompt string, confirm bool) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		if confirm {
			fmt.Fprint(env.stderr, "Again: ")
			again, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(env.stderr)
			if err != nil {
				return "", err
			}
			if string(again) != string(b) {
				return "", errors.New("the two passwords differ")
			}
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// cmdSendTestMail sends a test message through the configured transport.
func cmdSendTestMail(ctx context.Context, env *cmdEnv, args []string) error {
	var to *string
	_, path, err := flags(env, "send-test-mail", args, func(fs *flag.FlagSet) {
		to = fs.String("to", "", "recipient address")
	})
	if err != nil {
		return err
	}
	if *to == "" {
		fmt.Fprintln(env.stderr, "resetgate send-test-mail: -to ADDRESS is required")
		return exitCode(2)
	}
	if _, err := reset.ParseEmail(*to); err != nil {
		return fmt.Errorf("-to %q: %w", *to, err)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	log, _ := newLogger("text", "info", env.stderr)
	m, err := openMailer(cfg, env.getenv, log)
	if err != nil {
		return err
	}
	site := cfg.SiteName
	if site == "" {
		site = cfg.public.Hostname()
	}
	msg := reset.Message{
		To:      strings.TrimSpace(*to),
		Subject: "resetgate test message from " + site,
		Text:    fmt.Sprintf("This is a test message sent by `resetgate send-test-mail` at %s.\nIf you can read it, resetgate's mail settings work.\n", time.Now().UTC().Format(time.RFC1123)),
		HTML:    fmt.Sprintf("<p>This is a test message sent by <code>resetgate send-test-mail</code> at %s.</p><p>If you can read it, resetgate's mail settings work.</p>", time.Now().UTC().Format(time.RFC1123)),
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.Send(ctx, msg); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "sent a test message to %s via %s\n", msg.To, cfg.Mail.Transport)
	return nil
}
