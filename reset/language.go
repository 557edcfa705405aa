package reset

import (
	"context"
	htmltemplate "html/template"
	"time"
)

// Language is one language's message catalogue, as the domain needs it for mails and for the
// reasons a password is refused. Package i18n provides it; main wires it.
type Language interface {
	Tag() string // BCP 47, such as "de" or "pt-BR"
	Dir() string // "ltr" or "rtl"
	// Text is message key with its placeholders filled from args, name, value pairs; the
	// int named "n" picks the plural form.
	Text(key string, args ...any) string
	// HTML is Text, escaped for HTML, but for values of type template.HTML, kept as they are.
	HTML(key string, args ...any) htmltemplate.HTML
	Duration(d time.Duration) string // "1 hour", "7 days"
	Time(t time.Time) string         // a date and time of day, in UTC
}

// Languages are the offered languages.
type Languages interface {
	// Language returns the offered language tag names, its best offered match, or the
	// default language for "" and for anything not offered.
	Language(tag string) Language
	// Tags lists the offered languages, the default first.
	Tags() []string
}

// Problem is one reason a password is refused: a catalogue key and its values (name, value
// pairs), put into words in the user's language by whoever shows it.
type Problem struct {
	Key  string
	Args []any
}

type languageKey struct{}

// WithLanguage returns ctx carrying the language (a tag) of the page a request came from, so
// that the mails it queues are written in it.
func WithLanguage(ctx context.Context, tag string) context.Context {
	return context.WithValue(ctx, languageKey{}, tag)
}

// LanguageFrom returns the language tag [WithLanguage] put in ctx, or "".
func LanguageFrom(ctx context.Context) string {
	tag, _ := ctx.Value(languageKey{}).(string)
	return tag
}

// language picks a mail's language: the account's own (config: [users] language_column)
// when it has one, else the language of the page the job was queued from, else the default.
func (mt *MailTemplates) language(u User, jobLang string) Language {
	if u.Language != "" {
		return mt.langs.Language(u.Language)
	}
	return mt.langs.Language(jobLang)
}
