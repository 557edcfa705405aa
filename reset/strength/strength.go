// Package strength judges new passwords: it implements [reset.PasswordChecker] with a list of
// the most common passwords embedded in the binary and zxcvbn's strength estimator (package
// guesses, our implementation of it), which also penalises the user's e-mail address and name
// and the service's own words (SECURITY.md RQ-PWD-06).
//
// It sits beside the domain like any adapter: package main builds a [Checker] and hands it to
// the reset service, which checks length and the equality of the two fields itself. There are no
// composition rules (RQ-PWD-03) and passwords are judged as typed, without Unicode normalisation,
// since the legacy app hashes the exact bytes (RQ-PWD-04).
package strength

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"resetgate/reset"
	"resetgate/reset/strength/guesses"
)

// DefaultMinScore is the zxcvbn score resetgate requires unless configured otherwise: 3 is
// zxcvbn's "safely unguessable" (about 10^8 guesses or more), enough against offline attacks on
// a slow, salted hash (SECURITY.md, "Passwords").
const DefaultMinScore = 3

// Reasons, each the catalogue key of a sentence for the person choosing the password (package
// i18n, messages/en.toml). None may quote the password: pages and logs show them.
const (
	msgCommon  = "password.common"
	msgWeak    = "password.weak"
	msgEmail   = "password.like_email"
	msgName    = "password.like_name"
	msgSite    = "password.like_site"
	msgInvalid = "password.not_text"

	hintL33t     = "password.hint_lookalike"
	hintReversed = "password.hint_reversed"
	hintPassword = "password.hint_listed"
	hintWord     = "password.hint_word"
	hintNames    = "password.hint_names"
	hintSpatial  = "password.hint_keyboard"
	hintRepeat   = "password.hint_repeat"
	hintSequence = "password.hint_sequence"
	hintDate     = "password.hint_date"
)

// minWordRunes is the shortest personal or site word that counts. Shorter ones ("jo", a
// country-code label) occur by chance in many strong passwords; a three-letter name with digits
// ("bob1985") is still caught by the score.
const minWordRunes = 3

// Options configures a [Checker].
type Options struct {
	// MinScore is the zxcvbn score, 0 to 4, a password needs. Resetgate's default is
	// [DefaultMinScore]; package main must set it, since 0, the zero value, disables the score
	// and with it the checks against e-mail, name and ContextWords beyond plain equality. The
	// common-password list applies at every setting. Values outside 0–4 are clamped.
	MinScore int
	// ContextWords are service-wide words to penalise, such as the app's name and the public
	// host. Each counts whole and by its parts (split at anything but letters and digits, at
	// least three characters), except the last label of a dotted host name ("com").
	ContextWords []string
}

// Checker judges passwords; it implements [reset.PasswordChecker]. It holds no mutable state,
// so one Checker serves concurrent requests.
type Checker struct {
	minScore int
	site     []word
}

// New returns a Checker for o.
func New(o Options) *Checker {
	return &Checker{minScore: min(max(o.MinScore, 0), 4), site: siteWords(o.ContextWords)}
}

var _ reset.PasswordChecker = (*Checker)(nil)

// Check returns why password is refused for u, each reason the catalogue key of a sentence for
// the user from a fixed set (so none quotes the password), or nil if it is acceptable. A password on the common
// list gets that reason alone, as does one that equals, ignoring case, one of the user's or the
// site's words (the e-mail address, its local part, the name, a part of them). Otherwise, unless
// MinScore is 0, it is refused when its zxcvbn score is below MinScore or when what is left after
// removing the user's and the site's words scores below MinScore; the reasons then say whose
// words it leans on and, where zxcvbn found one, the pattern that makes it guessable. Only the
// first 64 characters are scored, to bound the cost; the other checks see the whole password.
func (c *Checker) Check(password string, u reset.User) []reset.Problem {
	var problems []reset.Problem
	for _, key := range c.reasons(password, u) {
		problems = append(problems, reset.Problem{Key: key})
	}
	return problems
}

// reasons is Check's list of keys.
func (c *Checker) reasons(password string, u reset.User) []string {
	if isCommon(password) {
		return []string{msgCommon}
	}
	words := c.words(u)
	lower := strings.ToLower(password)
	for _, w := range words {
		if w.text == lower {
			return w.kinds.reasons()
		}
	}
	if c.minScore == 0 {
		return nil
	}
	if !utf8.ValidString(password) {
		// zxcvbn cannot score it; a browser never sends it, so this is a hand-made request.
		return []string{msgInvalid}
	}

	scored := password
	if utf8.RuneCountInString(scored) > maxScoredRunes {
		scored = string([]rune(scored)[:maxScoredRunes])
	}
	inputs := make([]string, len(words))
	for i, w := range words {
		inputs[i] = w.text
	}

	var reasons []string
	est := estimateStrength(scored, inputs)
	if est.Score < c.minScore {
		reasons = append(reasons, msgWeak)
	}
	// zxcvbn gives the user's words a low rank, but adds a factor per piece, so "aliceexample2024"
	// still reaches score 3. An attacker who targets this account knows those words: judge what
	// is left without them.
	if rest, found := strip(scored, words); found != 0 {
		if len(rest) == 0 || estimateStrength(rest, inputs).Score < c.minScore {
			reasons = append(reasons, found.reasons()...)
		}
	}
	if est.Score < c.minScore {
		if h := hint(est.Sequence); h != "" {
			reasons = append(reasons, h)
		}
	}
	return reasons
}

// kinds says whose a penalised word is: the user's address, name, the site, or several ("jane"
// in jane.smith@… and Jane Smith).
type kinds uint8

const (
	email kinds = 1 << iota
	name
	site
)

// reasons returns the catalogue keys for k, in the order email, name, site.
func (k kinds) reasons() []string {
	var rs []string
	for _, r := range []struct {
		k   kinds
		msg string
	}{{email, msgEmail}, {name, msgName}, {site, msgSite}} {
		if k&r.k != 0 {
			rs = append(rs, r.msg)
		}
	}
	return rs
}

// word is a penalised word, lowercased with [strings.ToLower] as zxcvbn's dictionary matcher
// does.
type word struct {
	text  string
	kinds kinds
}

// words returns the words that count against u's password, most specific first, since zxcvbn
// ranks them in that order: the whole address, its local part and domain, their parts, the name
// and its parts, then the site's words.
func (c *Checker) words(u reset.User) []word {
	var ws []word
	addr := strings.TrimSpace(u.Email)
	ws = appendWord(ws, addr, email)
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local, domain := addr[:at], withoutTLD(addr[at+1:])
		ws = appendWord(ws, local, email)
		ws = appendWord(ws, domain, email)
		ws = appendParts(ws, local, email)
		ws = appendParts(ws, domain, email)
	}
	full := strings.TrimSpace(u.Name)
	ws = appendWord(ws, full, name)
	ws = appendParts(ws, full, name)
	for _, w := range c.site {
		ws = appendWord(ws, w.text, site)
	}
	return ws
}

// siteWords returns the words for the service-wide context words: each whole, without the
// last label of a dotted host name, and its parts.
func siteWords(context []string) []word {
	var ws []word
	for _, s := range context {
		s = withoutTLD(strings.TrimSpace(s))
		ws = appendWord(ws, s, site)
		ws = appendParts(ws, s, site)
	}
	return ws
}

// withoutTLD drops the last label of a dotted host name: the top-level domain is nobody's
// personal information, and "com" or "org" inside a password says nothing about its owner.
func withoutTLD(host string) string {
	if dot := strings.LastIndexByte(host, '.'); dot >= 0 {
		return host[:dot]
	}
	return host
}

// appendWord adds s, lowercased, to ws as a word of kind k if it has at least minWordRunes
// runes; a word already there gains k instead.
func appendWord(ws []word, s string, k kinds) []word {
	s = strings.ToLower(s)
	if utf8.RuneCountInString(s) < minWordRunes {
		return ws
	}
	if i := slices.IndexFunc(ws, func(w word) bool { return w.text == s }); i >= 0 {
		ws[i].kinds |= k
		return ws
	}
	return append(ws, word{text: s, kinds: k})
}

// appendParts adds the parts of s, its runs of letters and digits, with [appendWord].
func appendParts(ws []word, s string, k kinds) []word {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		ws = appendWord(ws, part, k)
	}
	return ws
}

// strip removes every case-insensitive occurrence of words from password and returns what is
// left and whose words it found.
func strip(password string, words []word) (string, kinds) {
	runes := []rune(password)
	// strings.ToLower maps rune for rune (unicode.ToLower), so the indexes agree with runes.
	lower := []rune(strings.ToLower(password))
	cut := make([]bool, len(runes))
	var found kinds
	for _, w := range words {
		wr := []rune(w.text)
		for i := 0; i+len(wr) <= len(lower); i++ {
			if slices.Equal(lower[i:i+len(wr)], wr) {
				found |= w.kinds
				for j := i; j < i+len(wr); j++ {
					cut[j] = true
				}
			}
		}
	}
	if found == 0 {
		return password, 0
	}
	var rest []rune
	for i, r := range runes {
		if !cut[i] {
			rest = append(rest, r)
		}
	}
	return string(rest), found
}

// hint explains the longest pattern in a guessable password's zxcvbn sequence, or returns "".
// The user's own words are left out: their reasons come from [strip].
func hint(seq []*guesses.Match) string {
	var longest *guesses.Match
	for _, m := range seq {
		if m.Pattern == "bruteforce" || m.DictionaryName == "user_inputs" {
			continue
		}
		if longest == nil || utf8.RuneCountInString(m.Token) > utf8.RuneCountInString(longest.Token) {
			longest = m
		}
	}
	if longest == nil {
		return ""
	}
	switch longest.Pattern {
	case "dictionary":
		switch {
		case longest.L33t:
			return hintL33t
		case longest.Reversed:
			return hintReversed
		}
		switch longest.DictionaryName {
		case "passwords":
			return hintPassword
		case "male_names", "female_names", "surnames":
			return hintNames
		}
		return hintWord
	case "spatial":
		return hintSpatial
	case "repeat":
		return hintRepeat
	case "sequence":
		return hintSequence
	case "date", "regex": // zxcvbn's only regex pattern is recent_year
		return hintDate
	}
	return ""
}
