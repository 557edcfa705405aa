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
)

// Problem is one thing wrong with a config file.
type Problem struct {
	Key  string // dotted, e.g. "users.dsn"
	Line int    // 0 when the key is absent from the file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Key, p.Msg)
	}
	if p.Key == "" {
		return p.Msg
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// ConfigError lists every problem found in a config file at once.
type ConfigError struct {
	Path     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// loadConfig reads, decodes and validates the file at path. Unknown keys, type errors and
// invalid values are all reported together, each with its key and line.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s not found (copy the annotated config.toml from the resetgate repository, or try `resetgate demo`)", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(path, data, getenv)
}

func parseConfig(path string, data []byte, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	cfg.path = path
	lines := keyLines(data)
	cerr := &ConfigError{Path: path}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			for _, e := range strict.Errors {
				key := strings.Join(e.Key(), ".")
				row, _ := e.Position()
				msg := "unknown key" + suggest(key)
				cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: row, Msg: msg})
			}
		case errors.As(err, &de):
			row, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: row, Msg: de.Error()})
			return nil, cerr // the rest of the file was not decoded: other checks would mislead
		default:
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	cfg.validate(getenv, func(key, format string, args ...any) {
		cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: lines[key], Msg: fmt.Sprintf(format, args...)})
	})
	if len(cerr.Problems) > 0 {
		sort.SliceStable(cerr.Problems, func(i, j int) bool {
			a, b := cerr.Problems[i].Line, cerr.Problems[j].Line
			return a != 0 && (b == 0 || a < b)
		})
		return nil, cerr
	}
	return &cfg, nil
}

// suggest turns common mistakes into a hint: secrets written inline, and near-misses of a
// known key in the same table (one or two typed characters off).
func suggest(key string) string {
	table, last := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, last = key[:i+1], key[i+1:]
	}
	if last == "password" || last == "secret" || last == "redis_password" || last == "bind_password" {
		return " (secrets are never read inline: use " + last + "_env or " + last + "_file)"
	}
	best, bestDist := "", 3
	for _, known := range knownKeys {
		kt, kl := "", known
		if i := strings.LastIndexByte(known, '.'); i >= 0 {
			kt, kl = known[:i+1], known[i+1:]
		}
		d := editDistance(strings.ToLower(strings.ReplaceAll(last, "-", "_")), kl)
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

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[duration]() {
			keys = append(keys, tomlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

var (
	tableHeader = regexp.MustCompile(`^\[\s*([A-Za-z0-9_.-]+)\s*\]`)
	keyAssign   = regexp.MustCompile(`^([A-Za-z0-9_-]+)\s*=`)
	prefixRe    = regexp.MustCompile(`^(/[a-z0-9][a-z0-9._-]*)+$`)
)

// keyLines maps each dotted key to the line where the file sets it, for messages about values
// that decode but do not validate. It reads the plain layout config files use ([table] headers,
// one key = value per line) and skips multi-line strings.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
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
			continue
		}
		if m := keyAssign.FindStringSubmatch(line); m != nil {
			if _, seen := lines[table+m[1]]; !seen {
				lines[table+m[1]] = n
			}
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(line, q)%2 == 1 {
					inString = q
				}
			}
		}
	}
	return lines
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
