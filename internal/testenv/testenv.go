// Package testenv gives tests the real services they need (PostgreSQL, MariaDB, Redis, …) and
// decides what happens when one is missing: outside CI the test is skipped with the reason;
// in CI (see [InCI]) it fails, so a missing service can never pass as a green run.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// InCI reports whether the tests run in CI, where missing services are failures: CI is set to
// anything but "false" or "0" (in any case). CI systems spell it differently (GitHub Actions
// and GitLab say "true", others "1" or "yes"), and a spelling we did not foresee must not turn
// failures back into skips.
func InCI() bool {
	switch v := strings.TrimSpace(os.Getenv("CI")); strings.ToLower(v) {
	case "", "false", "0":
		return false
	}
	return true
}

// Need stops the test when a service it needs is unavailable: a failure in CI, a skip elsewhere.
func Need(t testing.TB, service string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is required (CI=%s) but unavailable: %v", service, os.Getenv("CI"), err)
	}
	t.Skipf("%s unavailable, skipping (set CI=true to make this a failure): %v", service, err)
}

// Env returns the environment variable key, or def when it is unset.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Name returns a fresh lower-case identifier with the given prefix, usable as a database name
// or a key prefix, so that tests never share state.
func Name(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Postgres creates a fresh database on the machine's PostgreSQL (TEST_POSTGRES_DSN, default
// postgres://postgres@127.0.0.1:5432/postgres with trust auth), drops it when the test ends and
// returns a DSN for it.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := Env("TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	db, err := open("pgx", admin)
	Need(t, "PostgreSQL at "+redact(admin), err)
	name := Name("rgtest_")
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("create PostgreSQL database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop PostgreSQL database %s: %v", name, err)
		}
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}

// MySQL creates a fresh database on the machine's MariaDB/MySQL (TEST_MYSQL_DSN, default
// root@tcp(127.0.0.1:3306)/ with no password), drops it when the test ends and returns a DSN
// for it in go-sql-driver/mysql's format.
func MySQL(t testing.TB) string {
	t.Helper()
	base := Env("TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/")
	db, err := open("mysql", base)
	Need(t, "MariaDB/MySQL at "+base, err)
	name := Name("rgtest_")
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		db.Close()
		t.Fatalf("create MySQL database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop MySQL database %s: %v", name, err)
		}
	})
	return base + name
}

// Redis returns the address of the machine's Redis (TEST_REDIS_ADDR, default 127.0.0.1:6379)
// once it answers a TCP connect; callers isolate themselves with a key prefix from [Name].
func Redis(t testing.TB) string {
	t.Helper()
	addr := Env("TEST_REDIS_ADDR", "127.0.0.1:6379")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	Need(t, "Redis at "+addr, err)
	c.Close()
	return addr
}

func open(driver, dsn string) (*sql.DB, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func redact(dsn string) string {
	if i, j := indexByte(dsn, ':', 11), indexByte(dsn, '@', 0); i > 0 && j > i {
		return dsn[:i] + ":***" + dsn[j:]
	}
	return dsn
}

func indexByte(s string, c byte, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
