package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"resetgate/examples/demoapp"
)

// demoConfigPath names the demo's built-in config where a file path would be.
const demoConfigPath = "(demo defaults)"

// cmdDemo runs the example legacy app and resetgate in front of it, on embedded defaults:
// no config file, no database server, no mail server (links appear in the terminal).
func cmdDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "demo")
	listen := fs.String("listen", "127.0.0.1:8080", "where the demo listens")
	dataDir := fs.String("data", "", "keep the demo's state in this directory (default: a temporary one, removed at exit)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "resetgate-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	usersDB := filepath.Join(dir, "demo-users.db")
	app, err := demoapp.Open(ctx, usersDB)
	if err != nil {
		return err
	}
	defer app.Close()
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	appSrv := &http.Server{Handler: app, ReadHeaderTimeout: readHeaderTimeout}
	go appSrv.Serve(appLn)
	defer appSrv.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo: listen %s: %w (pick another with -listen 127.0.0.1:8081)", *listen, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // serve listens again on the same address

	cfg := defaultConfig()
	cfg.path = demoConfigPath
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	cfg.Upstream = "http://" + appLn.Addr().String()
	cfg.DataDir = dir
	cfg.SiteName = "Demo App"
	cfg.LogFormat = "text"
	cfg.AccessLog = "reset"
	cfg.Admin.Listen = ""
	cfg.Users.DSN = "file:" + usersDB
	cfg.Mail.From = "Demo App <no-reply@example.com>"
	cfg.App.LoginPath = "/login" // resetgate adds the reset link to it ([inject]) and links back to it
	var problems []string
	cfg.validate(env.getenv, func(key, format string, a ...any) { problems = append(problems, key+": "+fmt.Sprintf(format, a...)) })
	if len(problems) > 0 {
		return errors.New("demo config: " + fmt.Sprint(problems))
	}

	fmt.Fprintf(env.stdout, `
  resetgate demo
  ──────────────
  The example app (a stand-in for your legacy app) is behind resetgate at:

      %[1]s/

  1. Sign in at %[1]s/login as %[2]s with the password %[3]q.
  2. Sign out, then open %[1]s/pwreset (or follow "Forgot your password?").
  3. Ask for a link for %[2]s. No mail server is needed: the link is
     printed below as "link=…" (and saved as a .eml file in %[4]s).
  4. Open the link, choose a new password, and sign in with it.

  Press Ctrl+C to stop.

`, cfg.PublicURL, demoapp.Email, demoapp.Password, filepath.Join(dir, "outbox"))

	log, level := newLogger(cfg.LogFormat, cfg.LogLevel, env.stderr)
	return serve(ctx, &cfg, env.getenv, log, level)
}
