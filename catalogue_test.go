package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"resetgate/i18n"
)

// Every word a user reads comes from the catalogue (issue 13): these tests fail on a template
// or a Go string that says something to the user outside it, on a key the code uses that the
// catalogue lacks, and on a catalogue key nothing uses.

// userTemplates are the files that render what users read.
var userTemplates = []string{"web/templates/*.html", "reset/mailtmpl/*", "proxy/errorpage.html"}

// userPackages are the packages whose strings can reach a user's screen or mailbox.
var userPackages = []string{"web", "reset", "reset/strength", "reset/ldap", "reset/sqldb", "proxy", "apphtml", "challenge", "tracking", "i18n"}

var (
	actionRe    = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	blockRe     = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>|<!--.*?-->`)
	entityRe    = regexp.MustCompile(`&#?[a-zA-Z0-9]+;`)
	tagRe       = regexp.MustCompile(`(?s)<[^>]*>`)
	attrRe      = regexp.MustCompile(`\b(alt|title|placeholder|aria-label|value|content)="([^"]*)"`)
	keyUseRe    = regexp.MustCompile(`\.L\.(?:Text|HTML) "([a-z0-9_.]+)"`)
	keyShapedRe = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
)

func hasLetters(s string) bool { return strings.ContainsFunc(s, unicode.IsLetter) }

func TestTemplatesHaveNoWordsOfTheirOwn(t *testing.T) {
	for _, pattern := range userTemplates {
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			t.Fatalf("no templates match %s", pattern)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			src := blockRe.ReplaceAllString(actionRe.ReplaceAllString(string(b), " "), " ")
			for _, m := range attrRe.FindAllStringSubmatch(src, -1) {
				if m[1] != "content" && hasLetters(m[2]) {
					t.Errorf("%s: attribute %s=%q is words outside the catalogue", name, m[1], m[2])
				}
			}
			text := entityRe.ReplaceAllString(tagRe.ReplaceAllString(src, " "), " ")
			for _, word := range strings.Fields(text) {
				if hasLetters(word) {
					t.Errorf("%s: %q is a word outside the catalogue", name, word)
				}
			}
		}
	}
}

// prose is what words for a user look like: a capitalised word and at least one more, as a
// title ("Check your e-mail") or a sentence.
var prose = regexp.MustCompile(`^[\p{Lu}][\p{Ll}']+,? [\p{Ll}\p{Lu}'-]+( \S+)*$`)

// quiet are the calls whose strings go to operators (errors, logs), never to a user's page.
var quiet = []string{"New", "Errorf", "Error", "Warn", "Info", "Debug", "ErrorContext", "WarnContext", "InfoContext",
	"DebugContext", "LogAttrs", "Log", "String", "Fatal", "Fatalf", "panic", "Fprintf", "Printf", "Println", "unavailable"}

// operatorWords are strings of userPackages that only operators read: `resetgate doctor`'s
// description of a password format, and the names of LDAP control fields in an error.
var operatorWords = []string{"Active Directory's unicodePwd (the directory hashes it)", "Control Type (Assertion)", "Control Value (Filter)"}

func TestGoCodeHasNoWordsForUsers(t *testing.T) {
	fset := token.NewFileSet()
	for _, dir := range userPackages {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Comments) > 0 && f.Comments[0].List[0].Text == "//go:build ignore" {
				continue // a generator, not part of the binary
			}
			skip := map[*ast.BasicLit]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if slices.Contains(quiet, callName(n)) {
						markLiterals(n, skip)
					}
				case *ast.BasicLit:
					if n.Kind != token.STRING || skip[n] {
						return true
					}
					s, err := strconv.Unquote(n.Value)
					if err == nil && prose.MatchString(s) && !slices.Contains(operatorWords, s) {
						t.Errorf("%s: %q reads as words for a user: put it in i18n/messages/en.toml", fset.Position(n.Pos()), s)
					}
				}
				return true
			})
		}
	}
}

// usedKeys returns every key-shaped string the templates and the Go code name (so that a
// catalogue key none of them has is unused), and among them the ones that must be catalogue
// keys: the templates' {{.L.Text "key"}} and the key-shaped strings of userPackages that are
// no log message, file name or audit event.
func usedKeys(t *testing.T) (named, mustExist map[string]bool) {
	t.Helper()
	named, mustExist = map[string]bool{}, map[string]bool{}
	for _, pattern := range userTemplates {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			b, _ := os.ReadFile(name)
			for _, m := range keyUseRe.FindAllStringSubmatch(string(b), -1) {
				named[m[1]], mustExist[m[1]] = true, true
			}
		}
	}
	fileName := regexp.MustCompile(`\.(html|js|css|svg|toml|txt|go)$`)
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		user := slices.Contains(userPackages, filepath.Dir(path))
		skip := map[*ast.BasicLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if name := callName(n); slices.Contains(quiet, name) || name == "Audit" || name == "audit" {
					markLiterals(n, skip)
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					if strings.HasPrefix(id.Name, "Audit") || strings.HasPrefix(id.Name, "Event") {
						markLiterals(n, skip)
					}
				}
			case *ast.BasicLit:
				s, err := strconv.Unquote(n.Value)
				if n.Kind != token.STRING || err != nil || !keyShapedRe.MatchString(s) {
					return true
				}
				named[s] = true
				if user && !skip[n] && !fileName.MatchString(s) {
					mustExist[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return named, mustExist
}

func callName(c *ast.CallExpr) string {
	switch fn := c.Fun.(type) {
	case *ast.SelectorExpr:
		return fn.Sel.Name
	case *ast.Ident:
		return fn.Name
	}
	return ""
}

func markLiterals(n ast.Node, skip map[*ast.BasicLit]bool) {
	ast.Inspect(n, func(m ast.Node) bool {
		if lit, ok := m.(*ast.BasicLit); ok {
			skip[lit] = true
		}
		return true
	})
}

func TestEveryKeyIsUsedAndEveryUseIsAKey(t *testing.T) {
	keys, err := i18n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	named, mustExist := usedKeys(t)
	for _, key := range keys {
		if !named[key] {
			t.Errorf("catalogue key %s is used nowhere: remove it from every catalogue", key)
		}
	}
	for key := range mustExist {
		if !slices.Contains(keys, key) {
			t.Errorf("%s is used as a message but is no key of i18n/messages/en.toml", key)
		}
	}
}
