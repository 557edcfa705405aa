package i18n

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"resetgate/internal/levenshtein"
)

// Lang is one language's catalogue. Its methods are safe for concurrent use.
type Lang struct {
	tag      language.Tag
	code     string // as in the file name: "pt-BR"
	name     string // in the language itself: "Português (Brasil)"
	dir      string // "ltr" or "rtl"
	msgs     map[string]entry
	months   []string
	fallback *Lang // the default language, for keys a language added by an operator lacks
}

// Tag returns the language's BCP 47 tag as its file names it, such as "de" or "pt-BR".
func (l *Lang) Tag() string { return l.code }

// Name returns the language's name in itself, for the language switcher.
func (l *Lang) Name() string { return l.name }

// Dir returns "rtl" for languages written right to left, else "ltr".
func (l *Lang) Dir() string { return l.dir }

var formNames = map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two",
	plural.Few: "few", plural.Many: "many", plural.Other: "other"}

// pluralForms returns the CLDR plural categories that whole numbers take in t.
func pluralForms(t language.Tag) map[string]bool {
	set := map[string]bool{"other": true}
	for n := range 1001 {
		set[formNames[plural.Cardinal.MatchPlural(t, n, 0, 0, 0, 0)]] = true
	}
	return set
}

// newLang checks f against the source catalogue and builds the language. It returns the keys
// f lacks (each then falls back to the default language) and every problem found.
func newLang(f *file, src *file) (l *Lang, missing []string, problems []string) {
	tag := language.MustParse(f.tag)
	l = &Lang{tag: tag, code: f.tag, msgs: f.msgs}
	need := pluralForms(tag)
	for key, e := range f.msgs {
		s, ok := src.msgs[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown key %q%s", e.where(), key, nearest(key, src)))
			continue
		}
		if s.kind() != e.kind() {
			problems = append(problems, fmt.Sprintf("%s: %s must be %s, like in %s.toml", e.where(), key, s.kind(), Source))
			continue
		}
		want := s.allPlaceholders()
		for _, form := range sortedForms(e.forms) {
			if !need[form] {
				problems = append(problems, fmt.Sprintf("%s: %s.%s: %s has no plural form %q; it uses %s", e.where(), key, form, f.tag, form, strings.Join(sortedKeys(need), ", ")))
			}
		}
		if e.forms != nil {
			for form := range need {
				if _, ok := e.forms[form]; !ok {
					problems = append(problems, fmt.Sprintf("%s: %s lacks the plural form %q (%s uses %s)", e.where(), key, form, f.tag, strings.Join(sortedKeys(need), ", ")))
				}
			}
		}
		got := e.allPlaceholders()
		for p := range got {
			if !want[p] {
				problems = append(problems, fmt.Sprintf("%s: %s has the placeholder {%s}, which %s.toml does not have (it has %s)", e.where(), key, p, Source, braces(want)))
			}
		}
		for p := range want {
			// A plural form may leave the count out ("an hour"), but every other value must
			// reach the reader.
			if !got[p] && !(p == "n" && e.forms != nil) {
				problems = append(problems, fmt.Sprintf("%s: %s lacks the placeholder {%s}", e.where(), key, p))
			}
		}
	}
	for key := range src.msgs {
		if _, ok := f.msgs[key]; !ok {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(problems)
	l.name, l.dir = f.tag, src.msgs["language.dir"].text
	if e, ok := f.msgs["language.name"]; ok {
		l.name = e.text
	}
	if e, ok := f.msgs["language.dir"]; ok {
		l.dir = e.text
	}
	if l.dir != "ltr" && l.dir != "rtl" {
		e := f.msgs["language.dir"]
		problems = append(problems, fmt.Sprintf("%s: language.dir must be \"ltr\" or \"rtl\", got %q", e.where(), l.dir))
	}
	if e, ok := f.msgs["date.months"]; ok {
		if len(e.list) != 12 {
			problems = append(problems, fmt.Sprintf("%s: date.months must list the 12 months, got %d", e.where(), len(e.list)))
		}
		l.months = e.list
	} else {
		l.months = src.msgs["date.months"].list
	}
	return l, missing, problems
}

func sortedForms(m map[string]string) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}

func braces(set map[string]bool) string {
	if len(set) == 0 {
		return "none"
	}
	var b []string
	for _, p := range sortedKeys(set) {
		b = append(b, "{"+p+"}")
	}
	return strings.Join(b, " ")
}

// nearest suggests the source key closest to a mistyped one.
func nearest(key string, src *file) string {
	best, dist := "", 4
	for k := range src.msgs {
		if d := levenshtein.Distance(key, k); d < dist {
			best, dist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// lookup returns the message for key with the plural form for count n (when it has forms).
func (l *Lang) lookup(key string, n int, counted bool) string {
	e, ok := l.msgs[key]
	if !ok {
		if l.fallback != nil {
			return l.fallback.lookup(key, n, counted)
		}
		return key
	}
	if e.forms == nil {
		return e.text
	}
	form := "other"
	if counted {
		form = formNames[plural.Cardinal.MatchPlural(l.tag, n, 0, 0, 0, 0)]
	}
	if s, ok := e.forms[form]; ok {
		return s
	}
	return e.forms["other"]
}

// Text returns message key with its placeholders filled from args, given as name, value
// pairs: Text("sent.valid", "duration", 2*time.Hour). A value is a string, an int (the one
// named "n" picks the plural form), a [time.Duration] or a [time.Time], written the
// language's way. The result is plain text; html/template escapes it where it lands.
func (l *Lang) Text(key string, args ...any) string {
	return l.format(key, args, false)
}

// HTML is [Lang.Text] for a message some of whose values are markup: it escapes the message
// and every value but those of type template.HTML, which it inserts as they are.
func (l *Lang) HTML(key string, args ...any) template.HTML {
	return template.HTML(l.format(key, args, true))
}

func (l *Lang) format(key string, args []any, html bool) string {
	values := map[string]string{}
	n, counted := 0, false
	for i := 0; i+1 < len(args); i += 2 {
		name, _ := args[i].(string)
		if v, ok := args[i+1].(int); ok && name == "n" {
			n, counted = v, true
		}
		values[name] = l.value(args[i+1], html)
	}
	msg := l.lookup(key, n, counted)
	if html {
		msg = template.HTMLEscapeString(msg)
	}
	return placeholderRe.ReplaceAllStringFunc(msg, func(m string) string {
		if v, ok := values[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}
