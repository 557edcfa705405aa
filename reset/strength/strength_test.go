package strength

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"resetgate/i18n"
	"resetgate/reset"
)

var (
	jane = reset.User{ID: "42", Email: "jane.smith@example.org", Name: "Jane Smith"}
	// marguerite's address shares nothing with her name, so reasons can tell them apart.
	marguerite = reset.User{ID: "43", Email: "jsm@corp.example", Name: "Marguerite Okafor"}
)

func TestCheck(t *testing.T) {
	site := []string{"Resetgate", "app.example.com"}
	tests := []struct {
		name     string
		minScore int
		user     reset.User
		password string
		want     []string
	}{
		{"the most common password", 3, jane, "password", []string{msgCommon}},
		{"common password with capitals and look-alikes", 3, jane, "P@ssw0rd", []string{msgCommon}},
		{"common phrase", 3, jane, "letmein", []string{msgCommon}},
		{"keyboard row", 3, jane, "qwertyuiop", []string{msgCommon}},
		{"common password in capitals", 3, jane, "PASSWORD", []string{msgCommon}},
		{"common password with a Kelvin sign for K", 3, jane, "\u212Ailler", []string{msgCommon}},
		{"the user's e-mail address", 3, jane, "jane.smith@example.org", []string{msgEmail}},
		{"the e-mail address in capitals", 3, jane, "JANE.SMITH@EXAMPLE.ORG", []string{msgEmail}},
		{"the address's local part", 3, jane, "jane.smith", []string{msgEmail}},
		{"name and digits", 3, marguerite, "Marguerite1987", []string{msgWeak, msgName, hintDate}},
		{"surname and digits that zxcvbn alone scores 3", 3, marguerite, "okafor2024", []string{msgWeak, msgName, hintSpatial}},
		{"the whole name", 3, marguerite, "marguerite okafor", []string{msgName}},
		{"words of both address and name with digits", 3, jane, "Jane_Smith_1987!", []string{msgEmail, msgName}},
		{"the site's name and a year", 3, jane, "resetgate2024!", []string{msgWeak, msgSite}},
		{"repeated character", 3, jane, "zzzzzzzzzzzz", []string{msgWeak, hintRepeat}},
		{"alphabet", 3, jane, "abcdefghijklmnop", []string{msgWeak, hintSequence}},
		{"word spelled backwards and repeated", 3, jane, "drowssapdrowssap", []string{msgWeak, hintRepeat}},
		{"invalid UTF-8", 3, jane, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", []string{msgInvalid}},
		{"correct horse battery staple", 3, jane, "correct horse battery staple", nil},
		{"random 20 characters", 3, jane, "xK9#mQ2$vL7!pR4@nT6w", nil},
		{"German passphrase", 3, jane, "Zwölf Boxkämpfer jagen Viktor", nil},
		{"Russian passphrase", 3, jane, "пароль надёжный очень длинный", nil},
		{"Japanese passphrase", 3, jane, "富士山の上で猫がピアノを弾く", nil},
		{"own name inside a strong passphrase", 3, jane, "Jane Smith: purple monkey dishwasher 42", nil},
		{"three words at score 3", 3, jane, "blue kitchen", nil},
		{"score 4 required", 4, jane, "blue kitchen", []string{msgWeak, hintWord}},
		{"score 4 reached", 4, jane, "blue kitchen window", nil},
		{"MinScore 0 still refuses a common password", 0, jane, "password", []string{msgCommon}},
		{"MinScore 0 still refuses the e-mail address", 0, jane, "jane.smith@example.org", []string{msgEmail}},
		{"MinScore 0 does not score", 0, jane, "zzzzzzzzzzzz", nil},
		{"MinScore 0 does not look inside", 0, marguerite, "Marguerite1987", nil},
		{"weak start of a long password", 3, jane, strings.Repeat("password", 16), []string{msgWeak, hintRepeat}},
		{"strong start of a long password", 3, jane, "xK9#mQ2$vL7!pR4@nT6w" + strings.Repeat("a", 108), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{MinScore: tt.minScore, ContextWords: site})
			got := c.reasons(tt.password, tt.user)
			if problems := c.Check(tt.password, tt.user); len(problems) != len(got) {
				t.Errorf("Check(%q) = %v, want the keys %q", tt.password, problems, got)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check(%q) = %q, want %q", tt.password, got, tt.want)
			}
			// Reasons come from a fixed set of sentences, so none can echo the password.
			for _, r := range got {
				if !slices.Contains(allReasons, r) {
					t.Errorf("Check(%q) reason %q is not one of the fixed sentences", tt.password, r)
				}
			}
		})
	}
}

var allReasons = []string{msgCommon, msgWeak, msgEmail, msgName, msgSite, msgInvalid,
	hintL33t, hintReversed, hintPassword, hintWord, hintNames, hintSpatial, hintRepeat, hintSequence, hintDate}

// Every reason is a message of the catalogue, so that each reaches the user in their language.
func TestReasonsAreCatalogueKeys(t *testing.T) {
	keys, err := i18n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allReasons {
		if !slices.Contains(keys, key) {
			t.Errorf("reason %q is not a key of the catalogue", key)
		}
	}
}

func TestNewClampsMinScore(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{-1, 0}, {0, 0}, {3, 3}, {4, 4}, {9, 4}} {
		if got := New(Options{MinScore: tt.in}).minScore; got != tt.want {
			t.Errorf("New(Options{MinScore: %d}).minScore = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		name    string
		context []string
		user    reset.User
		want    []word
	}{
		{
			name: "address, its parts without the TLD, then the name",
			user: reset.User{Email: " Jane.Smith@Mail.Example.org ", Name: "Jane Q. Smith-Jones"},
			want: []word{
				{"jane.smith@mail.example.org", email}, {"jane.smith", email}, {"mail.example", email},
				{"jane", email | name}, {"smith", email | name}, {"mail", email}, {"example", email},
				{"jane q. smith-jones", name}, {"jones", name},
			},
		},
		{
			name:    "site words and host labels, minus the TLD",
			context: []string{"Resetgate", "app.example.com", "HR"},
			user:    reset.User{Email: "bo@x.io"},
			want:    []word{{"bo@x.io", email}, {"resetgate", site}, {"app.example", site}, {"app", site}, {"example", site}},
		},
		{
			name: "no name, no address",
			user: reset.User{ID: "7"},
			want: nil,
		},
		{
			name:    "a site word the user shares",
			context: []string{"Okafor"},
			user:    marguerite,
			want:    []word{{"jsm@corp.example", email}, {"jsm", email}, {"corp", email}, {"marguerite okafor", name}, {"marguerite", name}, {"okafor", name | site}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New(Options{ContextWords: tt.context}).words(tt.user)
			if !slices.Equal(got, tt.want) {
				t.Errorf("words(%+v) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}

func TestCheckConcurrently(t *testing.T) {
	c := New(Options{MinScore: DefaultMinScore, ContextWords: []string{"resetgate"}})
	passwords := []string{"password", "Marguerite1987", "correct horse battery staple", "пароль надёжный очень длинный"}
	want := make([][]string, len(passwords))
	for i, p := range passwords {
		want[i] = c.reasons(p, marguerite)
	}
	var wg sync.WaitGroup
	for range 8 {
		for i, p := range passwords {
			wg.Go(func() {
				if got := c.reasons(p, marguerite); !slices.Equal(got, want[i]) {
					t.Errorf("concurrent Check(%q) = %q, want %q", p, got, want[i])
				}
			})
		}
	}
	wg.Wait()
}

func ExampleChecker_Check() {
	c := New(Options{MinScore: DefaultMinScore, ContextWords: []string{"Resetgate"}})
	u := reset.User{ID: "42", Email: "jane.smith@example.org", Name: "Jane Smith"}
	for _, p := range []string{"letmein", "JaneSmith1987", "purple monkey dishwasher"} {
		fmt.Println(c.Check(p, u))
	}
	// Output:
	// [{password.common []}]
	// [{password.like_email []} {password.like_name []}]
	// []
}

// BenchmarkCheck measures a whole check at the lengths that matter for cost: a short password,
// the longest that is scored in full, and the longest resetgate accepts (only its first
// maxScoredRunes runes are scored). Each length runs random ASCII, a passphrase, a string of
// l33t look-alikes (zxcvbn's slowest case found) and Cyrillic (the rune-boundary scorer).
func BenchmarkCheck(b *testing.B) {
	c := New(Options{MinScore: DefaultMinScore, ContextWords: []string{"resetgate", "app.example.com"}})
	for _, n := range []int{8, 64, 128} {
		for _, in := range []struct{ name, base string }{
			{"random", "xK9#mQ2$vL7!pR4@nT6w"},
			{"passphrase", "correct horse battery staple "},
			{"lookalikes", "1|7@4$5!3("},
			{"cyrillic", "пароль надёжный очень длинный "},
		} {
			p := string([]rune(strings.Repeat(in.base, 128))[:n])
			b.Run(fmt.Sprintf("%d/%s", n, in.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.Check(p, jane)
				}
			})
		}
	}
}
