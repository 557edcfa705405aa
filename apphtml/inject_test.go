package apphtml_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"resetgate/apphtml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// linkText is the link's words in the golden files.
const linkText = "Forgot your password?"

func mustInjector(t testing.TB, o apphtml.Options) *apphtml.Injector {
	t.Helper()
	if o.URL == "" {
		o.URL = "/pwreset"
	}
	if o.Paths == nil {
		o.Paths = []string{"/login"}
	}
	if o.Text == "" && o.Texts == nil {
		o.Text = linkText
	}
	in, err := apphtml.New(o)
	if err != nil {
		t.Fatalf("apphtml.New(%+v) = %v", o, err)
	}
	return in
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rewrite differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name, page, selector string
		wantErr              error
	}{
		{"flask login form", "flask-login.html", "", nil},
		{"first form with a password field, upper-case markup", "search-then-login.html", "", nil},
		{"a selector chooses the anchor", "flask-login.html", "main h1", nil},
		{"the noscript copy is not mistaken for the form", "noscript-form.html", "", nil},
		{"misnested markup the parser reshapes", "broken.html", "", apphtml.ErrAmbiguous},
		{"no form with a password field", "no-anchor.html", "", apphtml.ErrNoAnchor},
		{"a selector that matches nothing", "flask-login.html", "#nope", apphtml.ErrNoAnchor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustInjector(t, apphtml.Options{Selector: tt.selector})
			page := readFile(t, tt.page)
			got, err := in.Rewrite(page)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Rewrite(%s) = %v, want %v", tt.page, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			name := strings.TrimSuffix(tt.page, ".html")
			if tt.selector != "" {
				name += ".selector"
			}
			golden(t, name+".golden", got)
			// A splice: every byte of the app's page is still there, in order.
			snippet, _ := apphtml.RenderSnippet("", "/pwreset", linkText)
			if !bytes.Equal(bytes.Replace(got, snippet, nil, 1), page) {
				t.Errorf("Rewrite changed more than the inserted snippet")
			}
		})
	}
}

func TestRewriteRefusesWhatItCannotReadSafely(t *testing.T) {
	in := mustInjector(t, apphtml.Options{MaxBytes: 1 << 10})
	latin1 := []byte("<html><body><p>Caf\xe9</p><form><input type=password></form></body></html>")
	if _, err := in.Rewrite(latin1); !errors.Is(err, apphtml.ErrNotUTF8) {
		t.Errorf("Rewrite(Latin-1 page) = %v, want %v", err, apphtml.ErrNotUTF8)
	}
	huge := append(readFile(t, "flask-login.html"), bytes.Repeat([]byte("<!-- padding -->"), 100)...)
	if _, err := in.Rewrite(huge); !errors.Is(err, apphtml.ErrTooLarge) {
		t.Errorf("Rewrite(page over the cap) = %v, want %v", err, apphtml.ErrTooLarge)
	}
}

func TestSnippet(t *testing.T) {
	got, err := apphtml.RenderSnippet(`<a class="x" href="{{.URL}}">{{.Text}}</a>`, "/pwreset", `Lost it? <b>Reset</b>`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<a class="x" href="/pwreset">Lost it? &lt;b&gt;Reset&lt;/b&gt;</a>`; string(got) != want {
		t.Errorf("RenderSnippet = %s, want %s (text escaped)", got, want)
	}
	if _, err := apphtml.RenderSnippet(`<a href="{{.URL}}">x</a><script>alert(1)</script>`, "/pwreset", ""); err == nil {
		t.Error("a snippet with a script was accepted")
	}
	if _, err := apphtml.RenderSnippet(`{{.Nope}}`, "/pwreset", ""); err == nil {
		t.Error("a snippet with an unknown field was accepted")
	}
}

// response builds the app's answer to method path.
func response(method, path string, status int, header http.Header, body []byte) *http.Response {
	req, _ := http.NewRequest(method, "http://app.example"+path, nil)
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "text/html; charset=utf-8")
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{Request: req, StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func br(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestModifyResponse(t *testing.T) {
	page := readFile(t, "flask-login.html")
	want := readFile(t, "flask-login.golden")
	tests := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         []byte
		rewritten    bool
	}{
		{"identity", "GET", "/login", 200, http.Header{"Etag": {`"abc"`}, "Vary": {"Cookie"}}, page, true},
		{"gzip", "GET", "/login", 200, http.Header{"Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}}, gz(page), true},
		{"br", "GET", "/login", 200, http.Header{"Content-Encoding": {"br"}, "Etag": {`W/"v1"`}}, br(page), true},
		{"another path streams untouched", "GET", "/account", 200, nil, page, false},
		{"POST of the login form", "POST", "/login", 200, nil, page, false},
		{"304 keeps its validators", "GET", "/login", 304, http.Header{"Etag": {`"abc"`}}, nil, false},
		{"a non-HTML body on the path", "GET", "/login", 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"form":"<form><input type=password></form>"}`), false},
		{"an encoding it does not read", "GET", "/login", 200, http.Header{"Content-Encoding": {"zstd"}}, []byte("\x28\xb5\x2f\xfd garbage"), false},
		{"two stacked encodings", "GET", "/login", 200, http.Header{"Content-Encoding": {"gzip, br"}}, br(gz(page)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustInjector(t, apphtml.Options{})
			resp := response(tt.method, tt.path, tt.status, tt.header, tt.body)
			before := resp.Header.Clone()
			if err := in.ModifyResponse(resp); err != nil {
				t.Fatalf("ModifyResponse = %v", err)
			}
			got, _ := io.ReadAll(resp.Body)
			if !tt.rewritten {
				if !bytes.Equal(got, tt.body) || !equalHeaders(resp.Header, before) {
					t.Errorf("response changed, want it exactly as the app sent it")
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body = %s, want flask-login.golden", got)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(got)) || resp.ContentLength != int64(len(got)) {
				t.Errorf("Content-Length = %q / %d, want %d", cl, resp.ContentLength, len(got))
			}
			if ce := resp.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding = %q, want identity", ce)
			}
			if et := before.Get("Etag"); strings.HasPrefix(et, "W/") != (resp.Header.Get("Etag") != "") {
				t.Errorf("ETag %q became %q: a strong one must go, a weak one stay", et, resp.Header.Get("Etag"))
			}
			if v := before.Get("Vary"); resp.Header.Get("Vary") != v {
				t.Errorf("Vary = %q, want the app's %q", resp.Header.Get("Vary"), v)
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

func TestModifyResponseHEAD(t *testing.T) {
	in := mustInjector(t, apphtml.Options{})
	resp := response("HEAD", "/login", 200, http.Header{"Etag": {`"abc"`}}, nil)
	resp.Header.Set("Content-Length", "512")
	if err := in.ModifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Length") != "" || resp.Header.Get("Etag") != "" {
		t.Errorf("HEAD headers = %v, want no Content-Length and no strong ETag (a GET gets other bytes)", resp.Header)
	}
}

func TestModifyResponseHugePageStreamsWhole(t *testing.T) {
	in := mustInjector(t, apphtml.Options{MaxBytes: 4 << 10})
	page := append(readFile(t, "flask-login.html"), bytes.Repeat([]byte("<p>filler</p>\n"), 2000)...)
	resp := response("GET", "/login", 200, nil, page)
	resp.ContentLength = -1 // chunked: the size shows only while reading
	resp.Header.Del("Content-Length")
	if err := in.ModifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, page) {
		t.Errorf("a page over the cap arrived with %d of its %d bytes or changed", len(got), len(page))
	}
}

func TestModifyResponseDecompressionBomb(t *testing.T) {
	in := mustInjector(t, apphtml.Options{MaxBytes: 64 << 10})
	bomb := gz(bytes.Repeat([]byte("<p>"), 10<<20))
	resp := response("GET", "/login", 200, http.Header{"Content-Encoding": {"gzip"}}, bomb)
	if err := in.ModifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, bomb) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("a page that inflates past the cap was not passed on as the app sent it")
	}
}

// BenchmarkModifyResponse: what a response costs on a path without the link (it should be
// nothing measurable: one map lookup) and on the sign-in page (decode, parse, splice).
func BenchmarkModifyResponse(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("testdata", "flask-login.html"))
	if err != nil {
		b.Fatal(err)
	}
	in := mustInjector(b, apphtml.Options{})
	b.Run("other path", func(b *testing.B) {
		resp := response("GET", "/account", 200, nil, page)
		b.ReportAllocs()
		for b.Loop() {
			if err := in.ModifyResponse(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		enc  string
		body []byte
	}{{"login page", "", page}, {"login page gzip", "gzip", gz(page)}} {
		b.Run(c.name, func(b *testing.B) {
			resp := response("GET", "/login", 200, nil, c.body)
			b.ReportAllocs()
			for b.Loop() {
				resp.Header = http.Header{"Content-Type": {"text/html"}}
				if c.enc != "" {
					resp.Header.Set("Content-Encoding", c.enc)
				}
				resp.Body = io.NopCloser(bytes.NewReader(c.body))
				if err := in.ModifyResponse(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The link speaks the client's language: Language picks it from the request, Texts give its
// words, and a shared cache is told that the page now varies by language.
func TestModifyResponseInTheClientsLanguage(t *testing.T) {
	page := readFile(t, "flask-login.html")
	in := mustInjector(t, apphtml.Options{
		Texts:    map[string]string{"": "Forgot your password?", "de": "Passwort vergessen?", "ar": "هل نسيت كلمة المرور؟"},
		Language: func(r *http.Request) string { return r.Header.Get("Accept-Language") },
	})
	for lang, want := range map[string]string{"de": ">Passwort vergessen?</a>", "ar": ">هل نسيت كلمة المرور؟</a>", "xx": ">Forgot your password?</a>"} {
		resp := response("GET", "/login", 200, nil, page)
		resp.Request.Header.Set("Accept-Language", lang)
		if err := in.ModifyResponse(resp); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("Accept-Language %s: page lacks %q", lang, want)
		}
		if v := resp.Header.Values("Vary"); !slices.Contains(v, "Accept-Language, Cookie") {
			t.Errorf("Accept-Language %s: Vary = %q", lang, v)
		}
	}
	// One text for every language (no Language): the page does not vary.
	resp := response("GET", "/login", 200, nil, page)
	if err := mustInjector(t, apphtml.Options{}).ModifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	if v := resp.Header.Get("Vary"); v != "" {
		t.Errorf("one language: Vary = %q", v)
	}
}
