// Package demoapp is the example legacy app that `resetgate demo` puts behind resetgate: a
// tiny site with a login form over a SQLite users table holding werkzeug password hashes, in
// the shape of the Flask apps resetgate is made for. It knows nothing of resetgate and has no
// way to reset a password: resetgate adds the "Forgot your password?" link to its login page
// ([inject]) without a change here.
package demoapp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"

	_ "modernc.org/sqlite"

	"resetgate/reset/passhash"
)

// Seeded account.
const (
	Email    = "alice@example.com"
	Name     = "Alice"
	Password = "wonderland"
)

// App is the example app. It is an http.Handler.
type App struct {
	db       *sql.DB
	mux      *http.ServeMux
	mu       sync.Mutex
	sessions map[string]string // session id → email
}

// Open opens (creating and seeding if needed) the SQLite database at path and returns the app.
func Open(ctx context.Context, path string) (*App, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	if err := seed(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("demo app database %s: %w", path, err)
	}
	a := &App{db: db, mux: http.NewServeMux(), sessions: map[string]string{}}
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", a.loginForm)
	a.mux.HandleFunc("POST /login", a.login)
	a.mux.HandleFunc("POST /logout", a.logout)
	return a, nil
}

func seed(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL,
		email TEXT NOT NULL UNIQUE,
		password TEXT NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n > 0 {
		return err
	}
	h, err := passhash.New("werkzeug")
	if err != nil {
		return err
	}
	hash, err := h.Hash(Password)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "INSERT INTO users (name, email, password) VALUES (?, ?, ?)", Name, Email, hash)
	return err
}

// Close closes the database.
func (a *App) Close() error { return a.db.Close() }

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *App) user(r *http.Request) string {
	c, err := r.Cookie("demo_session")
	if err != nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, homePage, map[string]string{"User": a.user(r)})
}

func (a *App) loginForm(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, loginPage, map[string]string{})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	var hash string
	err := a.db.QueryRowContext(r.Context(), "SELECT password FROM users WHERE lower(email) = lower(?)", email).Scan(&hash)
	ok := false
	if err == nil {
		ok, err = passhash.Verify(password, hash)
	}
	if errors.Is(err, sql.ErrNoRows) || !ok {
		render(w, http.StatusUnauthorized, loginPage, map[string]string{"Error": "Wrong e-mail address or password.", "Email": email})
		return
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	a.mu.Lock()
	a.sessions[id] = email
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "demo_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("demo_session"); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "demo_session", Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	t.Execute(w, data)
}

const style = `<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1rem;font:inherit}.error{color:#b00020}</style>`

var homePage = template.Must(template.New("home").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Demo App</title>` + style + `</head><body>
<h1>Demo App</h1>
{{if .User}}<p>You are signed in as <strong>{{.User}}</strong>.</p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
{{else}}<p>A stand-in for a legacy app: it has a login form and no way to reset a password of its own.</p>
<p><a href="/login">Sign in</a></p>{{end}}
</body></html>`))

var loginPage = template.Must(template.New("login").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Demo App</title>` + style + `</head><body>
<h1>Sign in</h1>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
<form method="post" action="/login">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" value="{{.Email}}" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</body></html>`))
