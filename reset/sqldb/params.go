package sqldb

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// part is one piece of a statement written with named parameters: literal SQL text, or (when
// param is set) one occurrence of :param.
type part struct {
	text  string
	param string
}

// statement is a configured statement with its named parameters resolved for one dialect.
type statement struct {
	key    string   // the config key it came from, e.g. "find_user", for errors
	source string   // as configured, with :names
	sql    string   // with the dialect's placeholders
	params []string // the name bound to each positional placeholder, in order
}

// args returns the positional arguments for s, taking each parameter's value from vals. A
// name missing from vals binds NULL, which [Users.Check] relies on to run reads that match
// nothing.
func (s statement) args(vals map[string]any) []any {
	args := make([]any, len(s.params))
	for i, name := range s.params {
		args[i] = vals[name]
	}
	return args
}

// compile resolves the named parameters of src for d. Every parameter must be one of allowed
// and every name in required must occur, so that a typo in a custom query fails at start-up
// rather than binding NULL at the first reset.
func compile(key, src string, d dialect, allowed, required []string) (statement, error) {
	parts, err := parseNamed(src, d)
	if err != nil {
		return statement{}, fmt.Errorf("%s: %w", key, err)
	}
	st := statement{key: key, source: src}
	var b strings.Builder
	seen := make(map[string]int) // name → its $n (postgres)
	for _, p := range parts {
		if p.param == "" {
			b.WriteString(p.text)
			continue
		}
		if !slices.Contains(allowed, p.param) {
			return statement{}, fmt.Errorf("%s: unknown parameter :%s (allowed: %s)", key, p.param, paramList(allowed))
		}
		if d == postgres {
			// PostgreSQL numbers its parameters, so one name used twice binds one value.
			n, ok := seen[p.param]
			if !ok {
				st.params = append(st.params, p.param)
				n = len(st.params)
				seen[p.param] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		seen[p.param] = 0
		st.params = append(st.params, p.param)
		b.WriteByte('?')
	}
	for _, name := range required {
		if _, ok := seen[name]; !ok {
			return statement{}, fmt.Errorf("%s: must use the parameter :%s", key, name)
		}
	}
	st.sql = b.String()
	return st, nil
}

func paramList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = ":" + n
	}
	return strings.Join(s, ", ")
}

// parseNamed splits src into literal text and :name parameters, where a name is a letter or
// underscore followed by letters, digits and underscores. It knows just enough of each
// dialect's lexical rules to leave alone what only looks like a parameter: quoted strings and
// identifiers ('…', "…", `…`, SQLite's […], PostgreSQL's E'…' and $tag$…$tag$), comments
// (--, /* */, MySQL's #) and PostgreSQL's :: casts. A colon not followed by a name start (":=",
// "12:30" outside quotes) stays literal.
//
// It refuses the dialect's own placeholders ("?" in MySQL and SQLite, "$1" in PostgreSQL,
// "$name" and "@name" in SQLite): they would take positions that the named parameters fill,
// binding the wrong values. It also refuses unterminated quotes and comments, since the
// parser could not tell where parameters are. Concatenating the parts' texts, with each
// param written back as ":"+param, gives src again.
//
// Known limit: MySQL's NO_BACKSLASH_ESCAPES mode is not modelled (backslash escapes inside
// MySQL strings are assumed, the server default), and a PostgreSQL array slice written
// a[lo:hi] with a name after the colon reads as a parameter; write a[lo : hi].
func parseNamed(src string, d dialect) ([]part, error) {
	var parts []part
	lit := 0 // start of the pending literal text
	flush := func(end int) {
		if end > lit {
			parts = append(parts, part{text: src[lit:end]})
		}
	}
	i := 0
	for i < len(src) {
		c := src[i]
		var next byte
		if i+1 < len(src) {
			next = src[i+1]
		}
		switch {
		case c == '\'':
			backslash := d == mysql || d == postgres && i > 0 && (src[i-1] == 'E' || src[i-1] == 'e') && (i == 1 || !identByte(src[i-2]))
			end, ok := skipQuoted(src, i, '\'', backslash)
			if !ok {
				return nil, fmt.Errorf("unterminated string starting at byte %d", i)
			}
			i = end
		case c == '"':
			// In MySQL (without ANSI_QUOTES) "…" is a string with backslash escapes; elsewhere a
			// quoted identifier.
			end, ok := skipQuoted(src, i, '"', d == mysql)
			if !ok {
				return nil, fmt.Errorf("unterminated quoted name or string starting at byte %d", i)
			}
			i = end
		case c == '`' && d != postgres:
			end, ok := skipQuoted(src, i, '`', false)
			if !ok {
				return nil, fmt.Errorf("unterminated `quoted name` starting at byte %d", i)
			}
			i = end
		case c == '[' && d == sqlite:
			j := strings.IndexByte(src[i+1:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [quoted name] starting at byte %d", i)
			}
			i += j + 2
		case c == '-' && next == '-':
			// MySQL needs white space (or the end) after "--" for a comment: "1--1" is arithmetic.
			if d == mysql && i+2 < len(src) && !isSpace(src[i+2]) {
				i += 2
				continue
			}
			i = skipLine(src, i)
		case c == '#' && d == mysql:
			i = skipLine(src, i)
		case c == '/' && next == '*':
			end, ok := skipBlockComment(src, i, d == postgres)
			if !ok {
				return nil, fmt.Errorf("unterminated /* comment starting at byte %d", i)
			}
			i = end
		case c == '$' && d == postgres && (i == 0 || !identByte(src[i-1])):
			if isDigit(next) {
				return nil, fmt.Errorf("positional parameter $%c at byte %d: use named parameters (:name)", next, i)
			}
			end, ok, isTag := skipDollarQuoted(src, i)
			if isTag && !ok {
				return nil, fmt.Errorf("unterminated dollar-quoted string starting at byte %d", i)
			}
			if isTag {
				i = end
			} else {
				i++
			}
		case (c == '$' || c == '@') && d == sqlite && (i == 0 || !identByte(src[i-1])) && identStart(next):
			return nil, fmt.Errorf("SQLite parameter %c%s at byte %d: use named parameters (:name)", c, identAt(src, i+1), i)
		case c == '?' && d != postgres:
			// In PostgreSQL "?" is a jsonb operator; elsewhere it is a positional placeholder.
			return nil, fmt.Errorf("positional parameter ? at byte %d: use named parameters (:name)", i)
		case c == ':' && next == ':':
			i += 2 // a PostgreSQL cast, never a parameter
		case c == ':' && identStart(next):
			flush(i)
			name := identAt(src, i+1)
			parts = append(parts, part{param: name})
			i += 1 + len(name)
			lit = i
		default:
			i++
		}
	}
	flush(len(src))
	return parts, nil
}

// skipQuoted returns the index just past the quoted run that starts at src[i] == q. A doubled
// quote stands for itself; with backslash, so does a backslash-escaped one.
func skipQuoted(src string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(src) && src[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

func skipLine(src string, i int) int {
	if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(src)
}

// skipBlockComment returns the index just past the comment starting at src[i:i+2] == "/*".
// PostgreSQL nests block comments; MySQL and SQLite end at the first "*/".
func skipBlockComment(src string, i int, nested bool) (int, bool) {
	depth := 1
	for j := i + 2; j+1 < len(src); j++ {
		switch {
		case nested && src[j] == '/' && src[j+1] == '*':
			depth++
			j++
		case src[j] == '*' && src[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// skipDollarQuoted handles a PostgreSQL $tag$…$tag$ string starting at src[i] == '$'. isTag
// reports whether src[i:] opens one at all; if it does, end is the index just past the closing
// tag and ok whether there is one.
func skipDollarQuoted(src string, i int) (end int, ok, isTag bool) {
	j := i + 1
	if j < len(src) && identStart(src[j]) {
		j += len(identAt(src, j))
	}
	if j >= len(src) || src[j] != '$' {
		return 0, false, false
	}
	tag := src[i : j+1]
	k := strings.Index(src[j+1:], tag)
	if k < 0 {
		return 0, false, true
	}
	return j + 1 + k + len(tag), true, true
}

// identAt returns the run of identifier bytes at src[i:].
func identAt(src string, i int) string {
	j := i
	for j < len(src) && identByte(src[j]) {
		j++
	}
	return src[i:j]
}

func identStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func identByte(c byte) bool { return identStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
