package attack

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminAPINeedsTheTokenAndNeverHandsOutALink: the admin API can start a reset for any
// account, so it is a recovery path of its own. Without the bearer token, or with a wrong or
// truncated one, it does nothing; with it, it mails the account's stored address and answers
// without the link, so that an operator can start a reset but never choose the password
// (ASVS 5.0 V6.4.6). RQ-ADM-01.
func TestAdminAPINeedsTheTokenAndNeverHandsOutALink(t *testing.T) {
	token := strings.Repeat("9f", 24)
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, setup{conf: map[string]any{"admin.token_file": path}})
	send := func(auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", w.admin+"/api/v1/links", strings.NewReader(`{"email":"alice@example.com"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, auth := range []string{"", "Bearer ", "Bearer " + token[:32], "Bearer " + token + "x", "Basic " + token, "bearer " + token} {
		if code, body := send(auth); code != http.StatusUnauthorized {
			t.Errorf("POST /api/v1/links with Authorization %q = %d %s, want 401", auth, code, body)
		}
	}
	w.sync()
	if n := len(w.mails()); n != 0 {
		t.Fatalf("%d mails after refused admin calls, want none", n)
	}
	code, body := send("Bearer " + token)
	if code != http.StatusOK {
		t.Fatalf("POST /api/v1/links with the token = %d %s, want 200", code, body)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	if linkRe.MatchString(body) || len(answer) != 3 || answer["email"] != aliceEmail {
		t.Errorf("the answer %s must name the account and how long the link works, never the link", body)
	}
	mails := w.waitMails(1)
	if got := recipients(mails[0]); len(got) != 1 || got[0] != aliceEmail || !linkRe.MatchString(mails[0].Text) {
		t.Errorf("the link went to %v, want only the stored address %s", got, aliceEmail)
	}
	if strings.Contains(w.logText(), token) {
		t.Error("the admin token appears in the log")
	}
}
