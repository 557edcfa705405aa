package i18n

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// CookieName is the name of the cookie that remembers the language a user picked in the
// switcher. Over https it carries the __Host- prefix, which pins it to the exact origin; a
// browser refuses that prefix over plain http.
func CookieName(secure bool) string {
	if secure {
		return "__Host-resetgate-lang"
	}
	return "resetgate-lang"
}

// Match returns the offered language that best fits an Accept-Language header (q-values
// honoured, "pt-BR" falling back to "pt", then to a sibling such as "pt-PT", then to the
// default language). Entries that do not parse are skipped, not fatal: "xx, de;q=0.1" is
// German. An empty or unreadable header gives the default language.
func (c *Catalog) Match(acceptLanguage string) *Lang {
	tags := parseAcceptLanguage(acceptLanguage)
	if len(tags) == 0 {
		return c.def
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.def
	}
	return c.offered[i]
}

// maxAcceptLanguage bounds the entries read from one header, kept or not: browsers send a
// handful.
const maxAcceptLanguage = 16

// parseAcceptLanguage returns the header's languages, most wanted first (RFC 9110 §12.5.4),
// without the ones refused with q=0, "*" and any that do not parse.
func parseAcceptLanguage(h string) []language.Tag {
	type entry struct {
		tag language.Tag
		q   float64
	}
	var entries []entry
	read := 0
	for part := range strings.SplitSeq(h, ",") {
		if read++; read > maxAcceptLanguage {
			break
		}
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if name == "" || name == "*" || len(name) > 35 {
			continue
		}
		q, ok := qValue(params)
		if !ok {
			continue
		}
		tag, err := language.Parse(name)
		if err != nil && tag == language.Und || q == 0 {
			continue
		}
		entries = append(entries, entry{tag, q})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(b.q, a.q) })
	tags := make([]language.Tag, len(entries))
	for i, e := range entries {
		tags[i] = e.tag
	}
	return tags
}

// Pick returns the language for a request: the one its language cookie (CookieName(secure))
// names if that is offered, else the best match for its Accept-Language header. Over https
// only the __Host- cookie counts, so one planted over http or by a sibling domain cannot
// choose.
func (c *Catalog) Pick(r *http.Request, secure bool) *Lang {
	if ck, err := r.Cookie(CookieName(secure)); err == nil {
		if l := c.byTag[ck.Value]; l != nil {
			return l
		}
	}
	return c.Match(r.Header.Get("Accept-Language"))
}

// Language returns the offered language tag names, or the best offered match for it (so a
// mail queued in "pt" goes out in "pt-BR"), or the default for "" and anything unknown. An
// app's own spelling, "pt_BR" or "DE", is understood.
func (c *Catalog) Language(tag string) *Lang {
	if l := c.byTag[tag]; l != nil {
		return l
	}
	return c.Match(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
}

// qValue reads the weight among an entry's parameters ("q=0.8", any case, any position);
// 1 without one, ok false for one that is not a number from 0 to 1.
func qValue(params string) (q float64, ok bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return 0, false
		}
		return f, true
	}
	return 1, true
}
