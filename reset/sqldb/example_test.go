package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"resetgate/reset"
	"resetgate/reset/sqldb"
)

// A Flask app's SQLite database: find the account for a submitted address, then write a new
// hash with compare-and-swap, ending the app's sessions in the same transaction.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqldb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")
	app, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password TEXT, name TEXT)",
		"CREATE TABLE sessions (user_id INTEGER, token TEXT)",
		"INSERT INTO users VALUES (1, 'Alice@Example.com', 'pbkdf2:sha256:600000$old', 'Alice')",
		"INSERT INTO sessions VALUES (1, 'abc')",
	} {
		if _, err := app.Exec(stmt); err != nil {
			log.Fatal(err)
		}
	}
	app.Close()

	ctx := context.Background()
	users, err := sqldb.Open(ctx, sqldb.Options{
		Driver:     "sqlite",
		DSN:        "file:" + path,
		NameColumn: "name",
		AfterReset: []string{"DELETE FROM sessions WHERE user_id = :id"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer users.Close()
	if err := users.Check(ctx); err != nil {
		log.Fatal(err)
	}

	u, err := users.FindUser(ctx, reset.NormalizeEmail(" ALICE@example.com"))
	fmt.Println(u.ID, u.Email, u.Name, err)
	fmt.Println(users.SetPassword(ctx, u, "pbkdf2:sha256:600000$new"))
	fmt.Println(users.SetPassword(ctx, u, "pbkdf2:sha256:600000$again"))
	// Output:
	// 1 Alice@Example.com Alice <nil>
	// <nil>
	// password changed since the link was issued
}
