package sqldb

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	all := []string{"email", "id", "password", "old_password"}
	tests := []struct {
		name       string
		d          dialect
		src        string
		wantSQL    string
		wantParams []string
	}{
		{"postgres numbers parameters", postgres,
			"SELECT a FROM t WHERE e = :email AND i = :id",
			"SELECT a FROM t WHERE e = $1 AND i = $2", []string{"email", "id"}},
		{"postgres reuses the number of a repeated name", postgres,
			"WHERE a = :id OR b = :id AND c = :password",
			"WHERE a = $1 OR b = $1 AND c = $2", []string{"id", "password"}},
		{"mysql binds every occurrence", mysql,
			"WHERE a = :id OR b = :id AND c = :password",
			"WHERE a = ? OR b = ? AND c = ?", []string{"id", "id", "password"}},
		{"sqlite binds every occurrence", sqlite,
			"WHERE a = :id OR b = :id",
			"WHERE a = ? OR b = ?", []string{"id", "id"}},
		{"cast is not a parameter", postgres,
			"WHERE id::text = :id",
			"WHERE id::text = $1", []string{"id"}},
		{"cast directly before a parameter", postgres,
			"WHERE a = '1'::int AND b=:id::text",
			"WHERE a = '1'::int AND b=$1::text", []string{"id"}},
		{"parameter inside a string is text", sqlite,
			"WHERE note = ':email' AND e = :email",
			"WHERE note = ':email' AND e = ?", []string{"email"}},
		{"doubled quote stays inside the string", sqlite,
			"WHERE n = 'it''s :id' AND e = :email",
			"WHERE n = 'it''s :id' AND e = ?", []string{"email"}},
		{"mysql backslash escape stays inside the string", mysql,
			`WHERE n = 'a\':id' AND e = :email`,
			`WHERE n = 'a\':id' AND e = ?`, []string{"email"}},
		{"mysql double-quoted string", mysql,
			`WHERE n = "x:id\"" AND e = :email`,
			`WHERE n = "x:id\"" AND e = ?`, []string{"email"}},
		{"postgres plain string ends at the quote after a backslash", postgres,
			`WHERE n = 'a\' AND e = :email`,
			`WHERE n = 'a\' AND e = $1`, []string{"email"}},
		{"postgres E-string has backslash escapes", postgres,
			`WHERE n = E'a\':id' AND e = :email`,
			`WHERE n = E'a\':id' AND e = $1`, []string{"email"}},
		{"postgres dollar quotes", postgres,
			"WHERE a = $$ :id $$ AND b = $x$ :id $ $x$ AND e = :email",
			"WHERE a = $$ :id $$ AND b = $x$ :id $ $x$ AND e = $1", []string{"email"}},
		{"postgres dollar inside a name", postgres,
			"SELECT a$1 FROM t WHERE e = :email",
			"SELECT a$1 FROM t WHERE e = $1", []string{"email"}},
		{"postgres jsonb question mark operator", postgres,
			"WHERE data ? 'k' AND e = :email",
			"WHERE data ? 'k' AND e = $1", []string{"email"}},
		{"quoted identifier", postgres,
			`SELECT "we:ird" FROM t WHERE e = :email`,
			`SELECT "we:ird" FROM t WHERE e = $1`, []string{"email"}},
		{"backtick identifier", mysql,
			"SELECT `we:ird` FROM t WHERE e = :email",
			"SELECT `we:ird` FROM t WHERE e = ?", []string{"email"}},
		{"sqlite bracket identifier", sqlite,
			"SELECT [we:ird] FROM t WHERE e = :email",
			"SELECT [we:ird] FROM t WHERE e = ?", []string{"email"}},
		{"line comment", sqlite,
			"SELECT a -- :id\nFROM t WHERE e = :email",
			"SELECT a -- :id\nFROM t WHERE e = ?", []string{"email"}},
		{"block comment", mysql,
			"SELECT a /* :id */ FROM t WHERE e = :email",
			"SELECT a /* :id */ FROM t WHERE e = ?", []string{"email"}},
		{"postgres nests block comments", postgres,
			"SELECT a /* /* :id */ :id */ FROM t WHERE e = :email",
			"SELECT a /* /* :id */ :id */ FROM t WHERE e = $1", []string{"email"}},
		{"mysql block comments do not nest", mysql,
			"SELECT a /* /* x */ + :id",
			"SELECT a /* /* x */ + ?", []string{"id"}},
		{"mysql hash comment", mysql,
			"SELECT a # :id\nFROM t WHERE e = :email",
			"SELECT a # :id\nFROM t WHERE e = ?", []string{"email"}},
		{"mysql needs a space after --", mysql,
			"WHERE x = 1--:id",
			"WHERE x = 1--?", []string{"id"}},
		{"postgres -- is always a comment", postgres,
			"WHERE e = :email AND x = 1--:id",
			"WHERE e = $1 AND x = 1--:id", []string{"email"}},
		{"colon not followed by a name", mysql,
			"SELECT @a := 1, 12:30, :id",
			"SELECT @a := 1, 12:30, ?", []string{"id"}},
		{"name with digits and underscores", sqlite,
			"WHERE p = :old_password",
			"WHERE p = ?", []string{"old_password"}},
		{"no parameters", sqlite,
			"DELETE FROM sessions",
			"DELETE FROM sessions", nil},
		{"non-ASCII text passes through", postgres,
			"WHERE note <> 'ünïcødé' AND e = :email",
			"WHERE note <> 'ünïcødé' AND e = $1", []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := compile("q", tt.src, tt.d, all, nil)
			if err != nil {
				t.Fatalf("compile(%q, %v) error: %v", tt.src, tt.d, err)
			}
			if st.sql != tt.wantSQL || !slices.Equal(st.params, tt.wantParams) {
				t.Errorf("compile(%q, %v) = %q %q, want %q %q", tt.src, tt.d, st.sql, st.params, tt.wantSQL, tt.wantParams)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name     string
		d        dialect
		src      string
		required []string
		wantErr  string
	}{
		{"unknown parameter", postgres, "WHERE e = :emial", nil, "unknown parameter :emial (allowed: :email, :id)"},
		{"missing required parameter", sqlite, "WHERE e = :email", []string{"id"}, "must use the parameter :id"},
		{"mysql question mark", mysql, "WHERE e = ?", nil, "positional parameter ?"},
		{"sqlite question mark", sqlite, "WHERE e = ?1", nil, "positional parameter ?"},
		{"postgres dollar number", postgres, "WHERE e = $1", nil, "positional parameter $1"},
		{"sqlite dollar name", sqlite, "WHERE e = $email", nil, "SQLite parameter $email"},
		{"sqlite at name", sqlite, "WHERE e = @email", nil, "SQLite parameter @email"},
		{"unterminated string", mysql, "WHERE e = ':email", nil, "unterminated string"},
		{"unterminated backslash-escaped string", mysql, `WHERE e = 'x\'`, nil, "unterminated string"},
		{"unterminated quoted name", postgres, `SELECT "a FROM t`, nil, "unterminated quoted name"},
		{"unterminated backtick", mysql, "SELECT `a FROM t", nil, "unterminated `quoted name`"},
		{"unterminated bracket", sqlite, "SELECT [a FROM t", nil, "unterminated [quoted name]"},
		{"unterminated comment", sqlite, "SELECT a /* :email", nil, "unterminated /* comment"},
		{"unterminated nested comment", postgres, "SELECT a /* /* */ :email", nil, "unterminated /* comment"},
		{"unterminated dollar quote", postgres, "SELECT $x$ :email $y$", nil, "unterminated dollar-quoted string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := compile("find_user", tt.src, tt.d, []string{"email", "id"}, tt.required)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "find_user: ") {
				t.Fatalf("compile(%q, %v) = %q, %v; want an error containing %q", tt.src, tt.d, st.sql, err, tt.wantErr)
			}
		})
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzParseNamed checks the parser's contract on any input, for every dialect: it never panics;
// when it accepts a statement, writing the parts back gives the input again, every parameter
// is a well-formed name, and compiling emits exactly one placeholder per parameter
// (occurrence, or distinct name for PostgreSQL) and changes nothing else.
func FuzzParseNamed(f *testing.F) {
	for _, s := range []string{
		"SELECT id, email FROM users WHERE LOWER(email) = LOWER(:email)",
		"UPDATE t SET p = :password WHERE id = :id AND p = :old_password",
		"WHERE id::text = :id AND n = 'it''s :x' -- :y\n/* :z */",
		`WHERE n = E'a\':id' AND m = $tag$ :q $tag$ AND "x:y" = :id`,
		"SELECT `a:b`, [c:d] FROM t # :e\n WHERE x = 1--:id",
		"SELECT /* /* nested */ */ :a, ?, $1, @b, $c",
		"':", "::", ":", "$$", "$a", "/*", "--", "'", `"`, "`", "[",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, d := range []dialect{postgres, mysql, sqlite} {
			parts, err := parseNamed(src, d)
			if err != nil {
				continue
			}
			var back strings.Builder
			var names []string
			for _, p := range parts {
				if p.param == "" {
					back.WriteString(p.text)
					continue
				}
				if !nameRE.MatchString(p.param) {
					t.Fatalf("parseNamed(%q, %v) param %q is not a name", src, d, p.param)
				}
				back.WriteString(":" + p.param)
				names = append(names, p.param)
			}
			if back.String() != src {
				t.Fatalf("parseNamed(%q, %v) parts give %q back", src, d, back.String())
			}
			st, err := compile("q", src, d, names, nil)
			if err != nil {
				t.Fatalf("compile(%q, %v) with every name allowed: %v", src, d, err)
			}
			if d == postgres {
				distinct := slices.Compact(slices.Sorted(slices.Values(names)))
				if len(st.params) != len(distinct) || strings.Count(st.sql, "$") != strings.Count(src, "$")+len(names) {
					t.Fatalf("compile(%q, %v) = %q %q: want one $n per occurrence and %d distinct", src, d, st.sql, st.params, len(distinct))
				}
				continue
			}
			if !slices.Equal(st.params, names) || strings.Count(st.sql, "?") != strings.Count(src, "?")+len(names) {
				t.Fatalf("compile(%q, %v) = %q %q, want one ? per parameter %q", src, d, st.sql, st.params, names)
			}
		}
	})
}
