package tracking

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"resetgate/reset/resettest"
)

// The request body, streaming and upgrades pass through the tracker unchanged.

func TestBodyReachesTheAppByteExact(t *testing.T) {
	f := newFixture(t, Options{MaxForm: 1024})
	big := bytes.Repeat([]byte("email=alice%40example.com&x="), 10000) // far beyond the prefix
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
	}{
		{"urlencoded sign-in, larger than the prefix", "/echo", "application/x-www-form-urlencoded", big},
		{"binary body", "/echo", "application/octet-stream", []byte{0, 1, 2, 255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.tr.o.LoginPath = tc.path // treat /echo as the sign-in, so the tee is on
			resp := f.do("POST", tc.path, "", bytes.NewReader(tc.body), tc.ctype)
			got, _ := io.ReadAll(resp.Body)
			sum := sha256.Sum256(tc.body)
			if string(got) != hex.EncodeToString(sum[:]) {
				t.Errorf("the app's SHA-256 of the body = %s, want %x", got, sum)
			}
		})
	}
}

func TestFormField(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("csrf", "abc")
	mw.WriteField("email", "alice@example.com")
	mw.Close()
	whole := mp.Bytes()
	for _, tc := range []struct {
		name, ctype string
		p           formPrefix
		want        string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", formPrefix{[]byte("a=1&email=alice%40example.com"), true}, "alice@example.com"},
		{"urlencoded cut after the field", "application/x-www-form-urlencoded", formPrefix{[]byte("email=alice%40example.com&pw=se"), false}, "alice@example.com"},
		{"urlencoded cut inside the field", "application/x-www-form-urlencoded", formPrefix{[]byte("pw=x&email=alice%40exa"), false}, ""},
		{"multipart", mw.FormDataContentType(), formPrefix{whole, true}, "alice@example.com"},
		{"multipart cut inside the field", mw.FormDataContentType(), formPrefix{whole[:bytes.Index(whole, []byte("alice"))+3], false}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formField(tc.p, tc.ctype, "email"); got != tc.want {
				t.Errorf("formField(%q) = %q, want %q", tc.p.data, got, tc.want)
			}
		})
	}
}

func TestStreamingStillFlushes(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.login("alice@example.com", "pw-alice@example.com")
	// A tracked cookie puts the writer wrapper in the path: the first chunk must still
	// arrive while the app holds the response open.
	resp := f.do("GET", "/stream", a, nil, "")
	line := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, line); err != nil || string(line) != "first\n" {
		t.Errorf("first streamed chunk = %q, %v, want %q", line, err, "first\n")
	}
}

func TestWebSocketUpgradePasses(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Upgrade", "echo")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo:" + line)
		brw.Flush()
	}))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	tr, err := New(Options{LoginPath: "/login", Cookies: []string{"session"}, Secret: bytes.Repeat([]byte("k"), 32),
		Users: resettest.NewUsers(), Store: resettest.NewMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(tr.Wrap(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}))
	t.Cleanup(front.Close)
	req, _ := http.NewRequest("GET", front.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	req.Header.Set("Cookie", "session=some-session") // the wrapper is in the path
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the tracker = %d, want 101", resp.StatusCode)
	}
	rw, ok := resp.Body.(io.ReadWriter)
	if !ok {
		t.Fatalf("101 body is not writable")
	}
	io.WriteString(rw, "hi\n")
	got := make([]byte, len("echo:hi\n"))
	if _, err := io.ReadFull(rw, got); err != nil || string(got) != "echo:hi\n" {
		t.Errorf("through the upgraded connection = %q, %v, want %q", got, err, "echo:hi\n")
	}
}
