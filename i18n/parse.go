package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

// A catalogue file is TOML: tables group keys ([request] title = "…" is the key
// request.title), a message is a string, and a message that depends on a count is a table of
// CLDR plural forms (one = "{n} hour", other = "{n} hours"). Placeholders are {name}.

// file is one parsed catalogue file, before it is checked against the source.
type file struct {
	name string // for messages: "messages/de.toml"
	tag  string
	msgs map[string]entry
}

// entry is one message: text, or plural forms by CLDR category, or (date.months) a list.
type entry struct {
	text  string
	forms map[string]string
	list  []string
	line  int
	file  string
}

var placeholderRe = regexp.MustCompile(`\{([a-z_]+)\}`)

// pluralNames are CLDR's plural categories, as written in the files.
var pluralNames = []string{"zero", "one", "two", "few", "many", "other"}

func parseFile(fsys fs.FS, name, tag string) (*file, error) {
	if _, err := language.Parse(tag); err != nil {
		return nil, fmt.Errorf("%s: the file name must be a language tag such as de.toml or pt-BR.toml: %v", name, err)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, fmt.Errorf("%s:%d: %s", name, row, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := keyLines(string(data))
	f := &file{name: name, tag: tag, msgs: map[string]entry{}}
	var bad []string
	var walk func(prefix string, t map[string]any)
	walk = func(prefix string, t map[string]any) {
		for k, v := range t {
			key := prefix + k
			e := entry{line: lines[key], file: name}
			switch v := v.(type) {
			case string:
				e.text = v
			case []any:
				for _, item := range v {
					s, ok := item.(string)
					if !ok {
						bad = append(bad, fmt.Sprintf("%s:%d: %s: a list of texts in double quotes", name, e.line, key))
						break
					}
					e.list = append(e.list, s)
				}
			case map[string]any:
				if isPlural(v) {
					e.forms = map[string]string{}
					for form, s := range v {
						text, ok := s.(string)
						if !ok {
							bad = append(bad, fmt.Sprintf("%s:%d: %s.%s: text in double quotes", name, lines[key+"."+form], key, form))
						}
						e.forms[form] = text
					}
				} else {
					walk(key+".", v)
					continue
				}
			default:
				bad = append(bad, fmt.Sprintf("%s:%d: %s: text in double quotes", name, e.line, key))
				continue
			}
			f.msgs[key] = e
		}
	}
	walk("", doc)
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, errors.New(strings.Join(bad, "\n  "))
	}
	return f, nil
}

// isPlural reports whether table t is a plural message: every key a plural category.
func isPlural(t map[string]any) bool {
	for k := range t {
		if !slices.Contains(pluralNames, k) {
			return false
		}
	}
	return len(t) > 0
}

// overlay returns base with o's messages in place of its own.
func (base *file) overlay(o *file) *file {
	merged := &file{name: o.name, tag: base.tag, msgs: maps.Clone(base.msgs)}
	maps.Copy(merged.msgs, o.msgs)
	return merged
}

// keyLines maps each dotted key of a TOML document to its line, for error messages: table
// headers set the prefix, "a.b = …" lines name keys. Lines inside multi-line strings are
// skipped.
func keyLines(doc string) map[string]int {
	lines := map[string]int{}
	prefix := ""
	inMulti := false
	for i, line := range strings.Split(doc, "\n") {
		s := strings.TrimSpace(line)
		if inMulti {
			if strings.Contains(s, `"""`) {
				inMulti = false
			}
			continue
		}
		switch {
		case s == "" || s[0] == '#':
		case s[0] == '[':
			name := strings.Trim(strings.TrimSpace(strings.SplitN(s, "#", 2)[0]), "[]")
			prefix = strings.TrimSpace(name) + "."
			lines[strings.TrimSuffix(prefix, ".")] = i + 1
		default:
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				continue
			}
			key := prefix + strings.Trim(strings.TrimSpace(k), `"`)
			// "hours.one = …" also gives the line of the plural message "hours".
			for part := key; part != ""; part = part[:max(0, strings.LastIndexByte(part, '.'))] {
				if _, seen := lines[part]; !seen {
					lines[part] = i + 1
				}
			}
			if strings.Count(v, `"""`) == 1 {
				inMulti = true
			}
		}
	}
	return lines
}

// placeholders returns the set of {name}s in s.
func placeholders(s string) map[string]bool {
	set := map[string]bool{}
	for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
		set[m[1]] = true
	}
	return set
}

func (e entry) where() string { return fmt.Sprintf("%s:%d", e.file, e.line) }

func (e entry) kind() string {
	switch {
	case e.forms != nil:
		return "plural forms (one = …, other = …)"
	case e.list != nil:
		return "a list"
	}
	return "a text"
}

// allPlaceholders is the union of the placeholders of every form of e.
func (e entry) allPlaceholders() map[string]bool {
	set := placeholders(e.text)
	for _, s := range e.forms {
		maps.Copy(set, placeholders(s))
	}
	return set
}

func sortedKeys(m map[string]bool) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}
