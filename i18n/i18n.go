// Package i18n holds the message catalogues: every word resetgate shows a user, in every
// language it ships, and the rules for picking one (the language cookie, then
// Accept-Language, then the default) and for writing counts, durations and dates in it.
//
// It sits beside the domain, not in it: package reset sees a catalogue only through its small
// reset.Language and reset.Languages interfaces, package web and main use it directly, and it
// imports nothing of ours but internal/levenshtein (for "did you mean"). Catalogues are TOML
// files, one per language, embedded from messages/ and overridable key by key from a
// directory (config: [ui] messages_dir).
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

//go:embed messages/*.toml
var shipped embed.FS

// Source is the language every other catalogue is checked against: it has every key, and a
// key a translation lacks falls back to it.
const Source = "en"

// Catalog is the set of offered languages. It is immutable once loaded and safe for
// concurrent use.
type Catalog struct {
	offered []*Lang          // default first, then the others by tag
	byTag   map[string]*Lang // every offered language, by its tag as written in its file name
	def     *Lang
	matcher language.Matcher
	// Missing lists, by language, the keys a language added from a messages directory lacks
	// (each falls back to the default language); shipped catalogues lack none.
	Missing map[string][]string
}

// Options configures [Load]. The zero value offers every shipped language, English first.
type Options struct {
	// Languages are the offered languages' tags; empty means every shipped one (and every one
	// added by Dir).
	Languages []string
	// Default is the language used when nothing a browser asks for is offered; empty means
	// "en". It must be offered.
	Default string
	// Dir, when set, holds catalogues that override shipped keys (de.toml) or add a language
	// (eo.toml); they are checked like the shipped ones.
	Dir fs.FS
}

// Shipped returns the tags of the languages built into the binary, sorted.
func Shipped() []string {
	names, _ := fs.Glob(shipped, "messages/*.toml")
	tags := make([]string, 0, len(names))
	for _, n := range names {
		tags = append(tags, strings.TrimSuffix(path.Base(n), ".toml"))
	}
	sort.Strings(tags)
	return tags
}

// Load reads the shipped catalogues, then those of o.Dir over them, and returns the catalogue
// offering o.Languages. It reports every problem it finds (an unknown key, a placeholder the
// source does not have, a plural form the language lacks), each with its file and line.
func Load(o Options) (*Catalog, error) {
	if o.Default == "" {
		o.Default = Source
	}
	files := map[string]*file{}
	var problems []string
	for _, tag := range Shipped() {
		f, err := parseFile(shipped, "messages/"+tag+".toml", tag)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		files[tag] = f
	}
	src := files[Source]
	if src == nil {
		return nil, fmt.Errorf("i18n: the source catalogue %s.toml is missing or broken: %s", Source, strings.Join(problems, "; "))
	}
	if o.Dir != nil {
		names, err := fs.Glob(o.Dir, "*.toml")
		if err != nil {
			return nil, fmt.Errorf("i18n: messages directory: %w", err)
		}
		for _, name := range names {
			tag := strings.TrimSuffix(name, ".toml")
			f, err := parseFile(o.Dir, name, tag)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if base := files[tag]; base != nil {
				f = base.overlay(f)
			}
			files[tag] = f
		}
	}
	c := &Catalog{byTag: map[string]*Lang{}, Missing: map[string][]string{}}
	tags := o.Languages
	if len(tags) == 0 {
		for tag := range files {
			tags = append(tags, tag)
		}
	}
	if !slices.Contains(tags, o.Default) {
		problems = append(problems, fmt.Sprintf("the default language %q is not among the offered languages %q", o.Default, tags))
	}
	for _, tag := range tags {
		f := files[tag]
		if f == nil {
			problems = append(problems, fmt.Sprintf("language %q has no catalogue (shipped: %s)", tag, strings.Join(Shipped(), ", ")))
			continue
		}
		if _, dup := c.byTag[tag]; dup {
			continue
		}
		l, missing, errs := newLang(f, src)
		problems = append(problems, errs...)
		if len(missing) > 0 {
			c.Missing[tag] = missing
		}
		c.byTag[tag] = l
	}
	if len(problems) > 0 {
		return nil, &LoadError{Problems: problems}
	}
	c.def = c.byTag[o.Default]
	c.offered = append(c.offered, c.def)
	rest := make([]string, 0, len(c.byTag))
	for tag := range c.byTag {
		if tag != o.Default {
			rest = append(rest, tag)
		}
	}
	sort.Strings(rest)
	for _, tag := range rest {
		c.offered = append(c.offered, c.byTag[tag])
	}
	// A key a language lacks shows in the default language, and one the default lacks (an
	// operator's own language made the default) in the source's: never as the key itself.
	if c.def.code != Source {
		source := c.byTag[Source]
		if source == nil {
			source, _, _ = newLang(src, src)
		}
		c.def.fallback = source
	}
	for _, l := range c.offered {
		if l != c.def {
			l.fallback = c.def
		}
	}
	mt := make([]language.Tag, len(c.offered))
	for i, l := range c.offered {
		mt[i] = l.tag
	}
	c.matcher = language.NewMatcher(mt)
	return c, nil
}

// LoadError lists every problem found in the catalogues, each naming its file and line.
type LoadError struct{ Problems []string }

func (e *LoadError) Error() string {
	return "i18n: " + strings.Join(e.Problems, "\n  ")
}

// Default returns the default language.
func (c *Catalog) Default() *Lang { return c.def }

// Offered returns the offered languages, the default first.
func (c *Catalog) Offered() []*Lang { return slices.Clone(c.offered) }

// Tags returns the offered languages' tags, the default first.
func (c *Catalog) Tags() []string {
	tags := make([]string, len(c.offered))
	for i, l := range c.offered {
		tags[i] = l.code
	}
	return tags
}

// Get returns the offered language whose tag is exactly tag (as in [Lang.Tag]), or nil.
func (c *Catalog) Get(tag string) *Lang { return c.byTag[tag] }

// Keys returns every message key of the source catalogue, sorted.
func Keys() ([]string, error) {
	f, err := parseFile(shipped, "messages/"+Source+".toml", Source)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(f.msgs))
	for k := range f.msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}
