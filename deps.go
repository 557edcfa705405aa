//go:build tools

// Temporary: keeps every planned dependency in go.mod while the packages that use them are written.
package main

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/gorilla/mux"
	_ "github.com/gorilla/sessions"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/pelletier/go-toml/v2/unstable"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/trustelem/zxcvbn"
	_ "github.com/wneessen/go-mail"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/crypto/pbkdf2"
	_ "golang.org/x/crypto/scrypt"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
)
