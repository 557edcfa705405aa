package sqldb

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

func TestMySQLURLForm(t *testing.T) {
	const password = `p@ss/w:rd?&=%é ` // every character a URL or a driver DSN treats specially
	tests := []struct {
		dsn                      string
		user, pass, addr, dbname string
		tls                      string
	}{
		{(&url.URL{Scheme: "mysql", User: url.UserPassword("app", password), Host: "db.example:3307", Path: "/legacy"}).String(), "app", password, "db.example:3307", "legacy", ""},
		{"mysql://app:" + url.PathEscape(password) + "@db.example/legacy", "app", password, "db.example:3306", "legacy", ""},
		{"mariadb://app@[::1]/legacy?tls=skip-verify&charset=utf8mb4", "app", "", "[::1]:3306", "legacy", "skip-verify"},
		{"app:pw@tcp(127.0.0.1:3306)/legacy", "app", "pw", "127.0.0.1:3306", "legacy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			cfg, err := mysqlConfig(tt.dsn)
			if err != nil {
				t.Fatalf("mysqlConfig(%q) = %v", tt.dsn, err)
			}
			if cfg.User != tt.user || cfg.Passwd != tt.pass || cfg.Net != "tcp" || cfg.Addr != tt.addr || cfg.DBName != tt.dbname || cfg.TLSConfig != tt.tls {
				t.Errorf("mysqlConfig(%q) = user %q password %q net %q addr %q db %q tls %q, want %q %q tcp %q %q %q",
					tt.dsn, cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName, cfg.TLSConfig, tt.user, tt.pass, tt.addr, tt.dbname, tt.tls)
			}
		})
	}
	for _, bad := range []string{
		"mysql://app:s3cr3t@/legacy",
		"mysql://app:s3cr3t#x@db/legacy",
		"mysql://app:s3cr3t@db/legacy/more",
		"mysql://app:s3cr3t@db:port/legacy",
		"mysql://app:s3cr3t@db/legacy?parseTime=maybe",
	} {
		_, err := mysqlConfig(bad)
		if err == nil {
			t.Errorf("mysqlConfig(%q) = nil error, want a refusal", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("mysqlConfig(%q) = %q, which quotes the password", bad, err)
		}
	}
}

// TestURLFormsConnect logs in with a password full of URL-special characters, written in
// the URL forms people copy from elsewhere: mysql:// (MariaDB) and postgresql:// (PostgreSQL).
func TestURLFormsConnect(t *testing.T) {
	const password = `p@ss/w:rd?&=%;'x` // no # (the URL's fragment): it is refused with a hint
	t.Run("mariadb", func(t *testing.T) {
		dsn := testenv.MySQL(t)
		db := mustFixture(t, backend{driver: "mysql", sqlDriver: "mysql", newDSN: func(testing.TB) string { return dsn }})
		login := testenv.Name("rg_")
		mustExec(t, db, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", login, strings.ReplaceAll(password, "'", "''")))
		t.Cleanup(func() { db.db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", login)) })
		dbname := dsn[strings.LastIndexByte(dsn, '/')+1:]
		mustExec(t, db, fmt.Sprintf("GRANT SELECT ON %s.* TO '%s'@'%%'", dbname, login))
		u := mustOpenDSN(t, "mysql", fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", login, url.PathEscape(password), dbname))
		if got := u.Describe(); got != "mysql at 127.0.0.1:3306/"+dbname+", table users" {
			t.Errorf("Describe() = %q", got)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.Postgres(t)
		db := mustFixture(t, backend{driver: "postgres", sqlDriver: "pgx", newDSN: func(testing.TB) string { return dsn }})
		login := testenv.Name("rg_")
		mustExec(t, db, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", login, strings.ReplaceAll(password, "'", "''")))
		t.Cleanup(func() { db.db.Exec("DROP ROLE IF EXISTS " + login) })
		u, _ := url.Parse(dsn)
		u.Scheme, u.User = "postgresql", url.UserPassword(login, password)
		mustOpenDSN(t, "postgres", u.String())
	})
}

func mustOpenDSN(t *testing.T, driver, dsn string) *Users {
	t.Helper()
	u, err := Open(context.Background(), Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatalf("Open(%s, %q) = %v", driver, dsn, err)
	}
	t.Cleanup(func() { u.Close() })
	if err := u.Ping(context.Background()); err != nil {
		t.Fatalf("Ping() = %v", err)
	}
	return u
}

// mustExec runs a statement as it is (the fixture's exec would rebind its question marks).
func mustExec(t *testing.T, f *fixture, query string) {
	t.Helper()
	if _, err := f.db.Exec(query); err != nil {
		t.Fatalf("%s: %v", f.b.driver, err)
	}
}
