package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"resetgate/reset"
	"resetgate/reset/bolt"
)

// remote is the [operator] that asks a running server through its admin API.
type remote struct {
	base  string // http://host:port of the admin listener
	token string
	c     *http.Client
}

// remoteError is a refusal from the admin API: its status and code, the server's words, and
// the operator error the code stands for (nil for none), so that errors.Is works as with a
// [direct].
type remoteError struct {
	status    int
	code, msg string
	err       error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// call sends in (if not nil) as JSON and decodes the answer into out.
func (r *remote) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.c.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", r.base, err)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		re := &remoteError{status: resp.StatusCode, msg: fmt.Sprintf("admin API at %s answered %s", r.base, resp.Status)}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			re.code, re.msg = e.Code, e.Error
		}
		for _, c := range apiCodes {
			if c.code == re.code {
				re.err = c.err
			}
		}
		return re
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API at %s: unreadable answer: %w", r.base, err)
	}
	return nil
}

func (r *remote) SendLink(ctx context.Context, email string) (sentLink, error) {
	var out sentLink
	err := r.call(ctx, http.MethodPost, "/api/v1/links", map[string]string{"email": email}, &out)
	return out, err
}

func (r *remote) Tokens(ctx context.Context, email string) (tokenList, error) {
	var out tokenList
	err := r.call(ctx, http.MethodGet, "/api/v1/tokens?"+url.Values{"email": {email}}.Encode(), nil, &out)
	return out, err
}

func (r *remote) RevokeTokens(ctx context.Context, email string) (revoked, error) {
	var out revoked
	err := r.call(ctx, http.MethodDelete, "/api/v1/tokens?"+url.Values{"email": {email}}.Encode(), nil, &out)
	return out, err
}

func (r *remote) PurgeTokens(ctx context.Context) (int, error) {
	var out struct{ Deleted int }
	err := r.call(ctx, http.MethodPost, "/api/v1/tokens/purge", nil, &out)
	return out.Deleted, err
}

func (r *remote) Jobs(ctx context.Context) ([]jobView, error) {
	var out struct{ Jobs []jobView }
	err := r.call(ctx, http.MethodGet, "/api/v1/jobs", nil, &out)
	return out.Jobs, err
}

func (r *remote) RetryJobs(ctx context.Context, id string) (int, error) {
	var out struct{ Retried int }
	err := r.call(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/retry", nil, &out)
	return out.Retried, err
}

func (r *remote) DropJob(ctx context.Context, id string) error {
	var out struct{ Dropped string }
	return r.call(ctx, http.MethodDelete, "/api/v1/jobs/"+url.PathEscape(id), nil, &out)
}

func (r *remote) Audit(ctx context.Context, since time.Time) ([]reset.AuditEvent, error) {
	var out struct{ Events []reset.AuditEvent }
	err := r.call(ctx, http.MethodGet, "/api/v1/audit?"+url.Values{"since": {since.UTC().Format(time.RFC3339Nano)}}.Encode(), nil, &out)
	return out.Events, err
}

// adminBase is where a command on this machine reaches the admin listener: a wildcard host
// (":9090", "0.0.0.0:9090") is reached on loopback.
func adminBase(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// findServer asks the admin listener of cfg whether a resetgate server is running there. It
// returns the [remote] to use when one answers with its API on, nil when none answers, and an
// error that says what to do when one runs but cannot be used.
func findServer(ctx context.Context, cfg *Config, getenv func(string) string) (*remote, error) {
	base := adminBase(cfg.Admin.Listen)
	if base == "" {
		return nil, nil
	}
	token, err := cfg.Admin.token(getenv)
	if err != nil {
		return nil, fmt.Errorf("admin.token: %w", err)
	}
	r := &remote{base: base, token: token, c: &http.Client{
		Timeout:       apiTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var hello struct{ Service string }
	err = r.call(ctx, http.MethodGet, "/api/v1/", nil, &hello)
	var re *remoteError
	switch {
	case err == nil && hello.Service == "resetgate":
		return r, nil
	case errors.As(err, &re) && re.code == "api_off":
		if cfg.Store.Backend == "bolt" {
			// A server of ours whose API is off can't be asked, and while it holds the bolt
			// file the store can't be opened either.
			return nil, fmt.Errorf("a resetgate server is running (its admin listener %s answers) but its admin API is off, and it holds the bolt state file\n  set [admin] token_env or token_file (the same token for the server and this command, e.g. from `openssl rand -hex 32`) and restart the server, or stop the server and run the command again", base)
		}
		return nil, nil // Redis: the store can be used alongside the server
	case errors.As(err, &re) && re.code == "unauthorized" && token == "":
		return nil, fmt.Errorf("the resetgate server at %s needs an admin token and this command has none\n  run the command with the server's config, or set the same [admin] token_env / token_file", base)
	case errors.As(err, &re) && re.code == "unauthorized":
		return nil, fmt.Errorf("the resetgate server at %s refused this command's admin token\n  the server and the command must read the same [admin] token_env / token_file", base)
	}
	return nil, nil // nothing, or something else, listens there: no server of ours
}

// openOperator returns the operator a store command uses: the running server's admin API when
// one answers, else the state store itself (and the app's accounts on first need). It tells
// stderr which, and the caller calls done when finished.
func openOperator(ctx context.Context, env *cmdEnv, cfg *Config) (op operator, done func(), err error) {
	srv, err := findServer(ctx, cfg, env.getenv)
	if err != nil {
		return nil, nil, err
	}
	if srv != nil {
		fmt.Fprintf(env.stderr, "(through the admin API of the server running at %s)\n", srv.base)
		return srv, func() {}, nil
	}
	store, err := openStoreForCommand(ctx, cfg, env.getenv)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(env.stderr, "(directly on the state store: %s)\n", describeStore(cfg))
	var users userStore
	d := &direct{
		store: store,
		users: func(ctx context.Context) (reset.Users, error) {
			if users == nil {
				u, err := openUsers(ctx, cfg, env.getenv)
				if err != nil {
					return nil, err
				}
				users = u
			}
			return users, nil
		},
		lookup: func(s string) (string, error) { return lookupAddress(cfg, s) },
		now:    time.Now,
	}
	return d, func() {
		if users != nil {
			users.Close()
		}
		store.Close()
	}, nil
}

// describeStore names the state store for the "which did I use" line.
func describeStore(cfg *Config) string {
	if cfg.Store.Backend == "redis" {
		return "Redis"
	}
	return cfg.DataDir + "/" + stateFile
}

// inUseHint explains bolt.ErrInUse to a command that found the state file held.
func inUseHint(err error) error {
	if !errors.Is(err, bolt.ErrInUse) {
		return err
	}
	return fmt.Errorf("%w\n  the bolt state file allows one process at a time, and the running server holds it: give the server an admin token ([admin] token_env or token_file) so commands go through its admin API, or stop the server first (e.g. systemctl stop resetgate) — or use store.backend = \"redis\"", err)
}
