package main

import (
	"net/http"
	"strings"
	"testing"

	"resetgate/i18n"
)

// The page shown when the app is down is in the client's language, in every language, with
// no message missing.
func TestAppDownPagesInEveryLanguage(t *testing.T) {
	c, err := i18n.Load(i18n.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := appDownPages(c, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Offered() {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", l.Tag())
		for status, key := range map[int]string{http.StatusBadGateway: "app_down.bad_gateway.title", http.StatusGatewayTimeout: "app_down.timeout.title"} {
			body := string(page(r, status))
			if !strings.Contains(body, `<html lang="`+l.Tag()+`" dir="`+l.Dir()+`">`) || !strings.Contains(body, string(l.HTML(key))) {
				t.Errorf("%s %d: not the page in %s:\n%.400s", l.Tag(), status, l.Tag(), body)
			}
			if strings.Contains(body, "app_down.") {
				t.Errorf("%s %d: a message is missing:\n%s", l.Tag(), status, body)
			}
		}
	}
}
