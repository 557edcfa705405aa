package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"resetgate/reset"
)

// The admin API, on the admin listener under /api/v1/, lets operators (and the CLI while a
// server runs) start resets and manage pending links and the mail queue. Every call needs the
// bearer token of [admin] token_env / token_file and is written to the audit log, refused
// ones included. Without a token configured the API answers 404 to every call.
//
//	GET    /api/v1/                  who answers: {"service":"resetgate","version":…}
//	POST   /api/v1/links             {"email":…}: mail a reset link (never returns it)
//	GET    /api/v1/tokens[?email=]   pending links, all or one account's
//	DELETE /api/v1/tokens?email=     void one account's pending links
//	POST   /api/v1/tokens/purge      delete expired links
//	GET    /api/v1/jobs              the mail queue
//	POST   /api/v1/jobs/{id}/retry   make a job (or "all") due now
//	DELETE /api/v1/jobs/{id}         drop a job
//	GET    /api/v1/audit?since=      the audit trail since an RFC 3339 time (default: a day ago)
const apiPrefix = "/api/v1/"

// apiMaxBody bounds a request body: the largest is one e-mail address.
const apiMaxBody = 4 << 10

// apiError is the body of every refused call. Code is stable for scripts; Error is for people.
type apiError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// apiCodes maps operator errors to their status and code, both ways (the CLI's [remote] turns a
// code back into the error).
var apiCodes = []struct {
	err    error
	status int
	code   string
}{
	{errNoAccount, http.StatusNotFound, "no_account"},
	{errNoJob, http.StatusNotFound, "no_job"},
	{errJobBusy, http.StatusConflict, "job_busy"},
	{errBadAddress, http.StatusBadRequest, "bad_address"},
	{errBadTime, http.StatusBadRequest, "bad_time"},
}

// apiCodeOf is the code of a refused call, for the audit trail.
func apiCodeOf(err error) string {
	_, body := apiFailure(err)
	return body.Code
}

// adminAPI returns the admin API's handler for token ("" when none is configured), each call
// served by op and audited: a line in log and an event through trail.
func adminAPI(token string, op operator, log *slog.Logger, trail func(context.Context, reset.AuditEvent)) http.Handler {
	mux := http.NewServeMux()
	// h answers one call; it sets *account to the address the call is about, for the audit.
	handle := func(pattern, action string, h func(r *http.Request, account *string) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			account := r.URL.Query().Get("email")
			res, err := h(r, &account)
			status := http.StatusOK
			if err != nil {
				var body apiError
				status, body = apiFailure(err)
				if status == http.StatusInternalServerError {
					log.ErrorContext(r.Context(), "admin api call failed", "action", action, "err", err)
				}
				res = body
			}
			auditAdmin(log, r, action, account, status, err)
			outcome := "ok"
			if err != nil {
				outcome = apiCodeOf(err)
			}
			trail(r.Context(), reset.AuditEvent{Event: action, Outcome: outcome, Email: account, IP: r.RemoteAddr, Actor: "admin-api"})
			writeJSON(w, status, res)
		})
	}
	handle("GET /api/v1/{$}", "admin.hello", func(*http.Request, *string) (any, error) {
		return map[string]string{"service": "resetgate", "version": version}, nil
	})
	handle("POST /api/v1/links", "admin.link.send", func(r *http.Request, account *string) (any, error) {
		var in struct {
			Email string `json:"email"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, apiMaxBody)).Decode(&in); err != nil || in.Email == "" {
			return nil, errBadAddress
		}
		*account = in.Email
		return op.SendLink(r.Context(), in.Email)
	})
	handle("GET /api/v1/tokens", "admin.tokens.list", func(r *http.Request, _ *string) (any, error) {
		return op.Tokens(r.Context(), r.URL.Query().Get("email"))
	})
	handle("DELETE /api/v1/tokens", "admin.tokens.revoke", func(r *http.Request, _ *string) (any, error) {
		return op.RevokeTokens(r.Context(), r.URL.Query().Get("email"))
	})
	handle("POST /api/v1/tokens/purge", "admin.tokens.purge", func(r *http.Request, _ *string) (any, error) {
		n, err := op.PurgeTokens(r.Context())
		return map[string]int{"deleted": n}, err
	})
	handle("GET /api/v1/jobs", "admin.jobs.list", func(r *http.Request, _ *string) (any, error) {
		jobs, err := op.Jobs(r.Context())
		return map[string][]jobView{"jobs": jobs}, err
	})
	handle("POST /api/v1/jobs/{id}/retry", "admin.jobs.retry", func(r *http.Request, _ *string) (any, error) {
		n, err := op.RetryJobs(r.Context(), r.PathValue("id"))
		return map[string]int{"retried": n}, err
	})
	handle("DELETE /api/v1/jobs/{id}", "admin.jobs.drop", func(r *http.Request, _ *string) (any, error) {
		return map[string]string{"dropped": r.PathValue("id")}, op.DropJob(r.Context(), r.PathValue("id"))
	})
	handle("GET /api/v1/audit", "admin.audit.read", func(r *http.Request, _ *string) (any, error) {
		since := time.Now().Add(-24 * time.Hour)
		if v := r.URL.Query().Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, errBadTime
			}
			since = t
		}
		events, err := op.Audit(r.Context(), since)
		return map[string][]reset.AuditEvent{"events": events}, err
	})
	return requireToken(token, mux, log)
}

// requireToken lets through only requests bearing token. It compares SHA-256 digests in
// constant time, so neither the token's bytes nor its length leak through timing. With no
// token configured the API does not exist (404), so a scanner learns nothing either.
func requireToken(token string, next http.Handler, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeJSON(w, http.StatusNotFound, apiError{Code: "api_off", Error: "the admin API is off: set [admin] token_env or token_file"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			auditAdmin(log, r, "admin.auth", "", http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
			w.Header().Set("WWW-Authenticate", `Bearer realm="resetgate admin"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Error: "a valid bearer token is required (Authorization: Bearer …)"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, apiMaxBody)
		next.ServeHTTP(w, r)
	})
}

// apiFailure maps an operator error to its status and body; an unknown error is a 500 whose
// text stays in the log.
func apiFailure(err error) (int, apiError) {
	for _, c := range apiCodes {
		if errors.Is(err, c.err) {
			return c.status, apiError{Code: c.code, Error: err.Error()}
		}
	}
	if errors.Is(err, reset.ErrMalformedEmail) {
		return http.StatusBadRequest, apiError{Code: "bad_address", Error: errBadAddress.Error()}
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Error: "the call failed; the server's log says why"}
}

// auditAdmin writes one audit line per admin API call: what was asked, from which address,
// about which account, with which outcome. Bodies and tokens are never logged.
func auditAdmin(log *slog.Logger, r *http.Request, action, account string, status int, err error) {
	attrs := []any{"event", action, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", status}
	if account != "" {
		attrs = append(attrs, "email", account)
	}
	if err != nil {
		attrs = append(attrs, "outcome", err.Error())
	} else {
		attrs = append(attrs, "outcome", "ok")
	}
	log.InfoContext(r.Context(), "admin api call", attrs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiTimeout bounds one CLI call to the admin API.
const apiTimeout = 30 * time.Second
