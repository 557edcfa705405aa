package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"resetgate/internal/levenshtein"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	Key  string // dotted, e.g. "users.dsn"
	Line int    // 0 when the key is absent from the file
	Msg  string
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Key != "":
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Key, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	case p.Key != "":
		return fmt.Sprintf("%s: %s", p.Key, p.Msg)
	}
	return p.Msg
}

// ConfigError lists every problem found in a config file at once.
type ConfigError struct {
	Path     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 && e.Problems[0].Key == "" && e.Problems[0].Line == 0 {
		return e.Path + ": " + e.Problems[0].Msg
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// loadConfig reads, decodes and validates the file at path. Syntax errors, unknown keys, values
// of the wrong type and invalid values are all reported together in a [*ConfigError], each
// with its key and line; a file that cannot be read is one too, so that every command exits 2
// for it like for any invalid config.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe := (*os.PathError)(nil); errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		if errors.Is(err, os.ErrNotExist) {
			msg = "file not found (copy the annotated config.toml from the resetgate repository, or try `resetgate demo`)"
		}
		return nil, &ConfigError{Path: path, Problems: []Problem{{Msg: msg}}}
	}
	return parseConfig(path, data, getenv)
}

func parseConfig(path string, data []byte, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	cfg.path = path
	l := scanLayout(data)
	cerr := &ConfigError{Path: path}
	reported := map[string]bool{}
	add := func(p Problem) {
		cerr.Problems = append(cerr.Problems, p)
		reported[p.Key] = true
	}
	doc, skipped, complete := parseTOML(data, l, add)
	decodeTable(reflect.ValueOf(&cfg).Elem(), doc, "", func(key, msg string) {
		add(Problem{Key: key, Line: l.lines[key], Msg: msg})
	})
	if complete {
		// A key already reported, or on a line set aside for its syntax, would only be
		// reported again in other words ("required").
		cfg.validate(getenv, func(key, format string, args ...any) {
			if !reported[key] && !skipped[l.lines[key]] {
				cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: l.lines[key], Msg: fmt.Sprintf(format, args...)})
			}
		})
	}
	if len(cerr.Problems) > 0 {
		sort.SliceStable(cerr.Problems, func(i, j int) bool {
			a, b := cerr.Problems[i].Line, cerr.Problems[j].Line
			return a != 0 && (b == 0 || a < b)
		})
		return nil, cerr
	}
	return &cfg, nil
}

// parseTOML decodes data into generic TOML values. A syntax error on a one-line key = value is
// reported, that line is set aside (skipped) and the rest parsed again, so that every such
// mistake is reported at once. After any other syntax error (in a table header, an unfinished
// list, string or inline table) what follows cannot be read reliably: parsing stops there,
// complete is false and doc holds nothing.
func parseTOML(data []byte, l layout, add func(Problem)) (doc map[string]any, skipped map[int]bool, complete bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	skipped = map[int]bool{}
	for {
		doc = map[string]any{}
		err := toml.Unmarshal(bytes.Join(lines, nil), &doc)
		if err == nil {
			return doc, skipped, true
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			add(Problem{Msg: "cannot be read as TOML: " + strings.TrimPrefix(err.Error(), "toml: ")})
			return nil, skipped, false
		}
		row, _ := de.Position()
		text := ""
		if row >= 1 && row <= len(lines) {
			text = strings.TrimSpace(string(lines[row-1]))
		}
		key := strings.Join(de.Key(), ".")
		if k := l.keys[row]; k != "" {
			key = k
		}
		add(Problem{Key: key, Line: row, Msg: syntaxMessage(de, key, text, l)})
		if len(skipped) == maxSyntaxProblems {
			add(Problem{Line: row, Msg: "too many syntax errors: the rest of the file was not checked"})
			return nil, skipped, false
		}
		if !oneLineValue(text) || skipped[row] {
			add(Problem{Line: row, Msg: "the rest of the file was not checked: fix this line first"})
			return nil, skipped, false
		}
		skipped[row] = true
		// Blank the line but keep its newline, so that line numbers stay.
		lines[row-1] = lines[row-1][len(bytes.TrimRight(lines[row-1], "\n")):]
	}
}

// maxSyntaxProblems bounds the re-parsing of a file that is not TOML at all.
const maxSyntaxProblems = 20

// oneLineValue reports whether line is a key = value that cannot continue on the next line.
func oneLineValue(line string) bool {
	m := keyAssign.FindStringSubmatchIndex(line)
	if m == nil {
		return false
	}
	value := line[m[1]:]
	return !strings.ContainsAny(value, "[{") && !strings.Contains(value, `"""`) && !strings.Contains(value, "'''")
}

var unicodeName = regexp.MustCompile(`U\+[0-9A-F]{4,6} ('[^']*')`)

// syntaxMessage says what is wrong with a line that is not valid TOML, in plain words, with the
// fix for the commonest mistake: text without quotes (from = Example <…>, token_ttl = 1h).
func syntaxMessage(de *toml.DecodeError, key, line string, l layout) string {
	msg := unicodeName.ReplaceAllString(strings.TrimPrefix(de.Error(), "toml: "), "$1")
	if strings.HasSuffix(msg, "is already defined") && key != "" {
		return fmt.Sprintf("set twice (first on line %d)", l.lines[key])
	}
	if strings.Contains(msg, "at start of value") || strings.Contains(msg, "must be quoted") {
		msg = "not valid TOML: " + msg
		if m := keyAssign.FindStringSubmatch(line); m != nil {
			value := strings.TrimSpace(line[len(m[0]):])
			if !strings.ContainsAny(value, `"'#`) {
				msg += fmt.Sprintf("; text goes in double quotes: %s = %q", strings.TrimSpace(m[1]), value)
			}
		}
		return msg
	}
	return "not valid TOML: " + msg
}

// suggest turns common mistakes into a hint: secrets written inline, and near-misses of a
// known key in the same table (one or two typed characters off).
func suggest(key string) string {
	table, last := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, last = key[:i+1], key[i+1:]
	}
	if last == "password" || last == "secret" || last == "redis_password" || last == "bind_password" || last == "captcha_secret" {
		return " (secrets are never read inline: use " + last + "_env or " + last + "_file)"
	}
	best, bestDist := "", 3
	for _, known := range knownKeys {
		kt, kl := "", known
		if i := strings.LastIndexByte(known, '.'); i >= 0 {
			kt, kl = known[:i+1], known[i+1:]
		}
		d := levenshtein.Distance(strings.ToLower(strings.ReplaceAll(last, "-", "_")), kl)
		if kt != table {
			d++ // the right name in the wrong table is a likely mistake too
		}
		if d < bestDist {
			best, bestDist = known, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

// knownKeys lists every dotted key of [Config], read from its toml tags, for "did you mean".
var knownKeys = tomlKeys(reflect.TypeFor[Config](), "")

func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[duration]() && f.Type != reflect.TypeFor[size]() {
			keys = append(keys, tomlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

var (
	tableHeader = regexp.MustCompile(`^\[\s*([A-Za-z0-9_.-]+)\s*\]`)
	keyAssign   = regexp.MustCompile(`^([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=`)
	prefixRe    = regexp.MustCompile(`^(/[a-z0-9][a-z0-9._-]*)+$`)
)

// layout is where a config file sets what: lines maps each dotted key (and each [table]) to
// the first line that sets it, keys each such line to its key. It reads the plain layout
// config files use ([table] headers, one key = value per line, dotted keys) and skips
// multi-line strings; keys inside inline tables have no line.
type layout struct {
	lines map[string]int
	keys  map[int]string
}

func scanLayout(data []byte) layout {
	l := layout{lines: map[string]int{}, keys: map[int]string{}}
	table := ""
	inString := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if inString != "" {
			if strings.Count(line, inString)%2 == 1 {
				inString = ""
			}
			continue
		}
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			table = m[1] + "."
			if _, seen := l.lines[m[1]]; !seen {
				l.lines[m[1]] = n
			}
			continue
		}
		if m := keyAssign.FindStringSubmatch(line); m != nil {
			key := table + strings.Join(strings.Fields(strings.ReplaceAll(m[1], ".", " . ")), "")
			l.keys[n] = key
			if _, seen := l.lines[key]; !seen {
				l.lines[key] = n
			}
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(line, q)%2 == 1 {
					inString = q
				}
			}
		}
	}
	return l
}

func oneOf(bad complain, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// secretSource checks that exactly one of inline, name_env and name_file is set (inline may
// be disallowed by passing ""), and that the env variable or file is there.
func secretSource(bad complain, getenv func(string) string, key, inline, env, file string, required bool) {
	n := 0
	for _, v := range []string{inline, env, file} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0 && required:
		bad(key, "required: set %s_env (an environment variable's name) or %s_file (a file's path)", key, key)
	case n > 1:
		bad(key, "set only one of %s, %s_env and %s_file", key, key, key)
	case env != "" && getenv(env) == "":
		bad(key+"_env", "the environment variable %s is not set or empty", env)
	case file != "":
		if _, err := os.Stat(file); err != nil {
			bad(key+"_file", "%v", err)
		}
	}
}

// secret resolves a value set inline, through an environment variable or in a file (whose
// trailing newline is dropped, as editors and `echo` add one).
func secret(getenv func(string) string, inline, env, file string) (string, error) {
	switch {
	case env != "":
		return getenv(env), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return inline, nil
}
