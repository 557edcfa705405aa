package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/webhook"
)

// The verification snippets of docs/hooks.md are run as they stand, in their own languages,
// against payloads this package signs, so that what receivers copy cannot rot (issue 11).
// Each language gets a few lines appended that call the snippet's function with the secret,
// the signature header and the clock from the environment, and the body from a file.
var snippetHarness = []struct {
	lang, fence, interpreter, ext, harness string
}{
	{"Python", "python", "/usr/bin/python3", ".py", `
import os, sys
ok = verify_resetgate(os.environ["SECRET"].encode(), open(sys.argv[1], "rb").read(), os.environ["SIG"], now=int(os.environ["NOW"]))
print("valid" if ok else "invalid")
`},
	{"PHP", "php", "php", ".php", `
echo resetgate_verify(getenv('SECRET'), file_get_contents($argv[1]), getenv('SIG'), 300, (int) getenv('NOW')) ? "valid" : "invalid", "\n";
`},
	{"Node", "js", "node", ".js", `
const fs = require("node:fs");
console.log(verifyResetgate(process.env.SECRET, fs.readFileSync(process.argv[2]), process.env.SIG, 300, Number(process.env.NOW)) ? "valid" : "invalid");
`},
}

func TestDocsSnippetsVerify(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "hooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1767323045, 0)
	// An id with a non-ASCII character: the body is hashed as bytes, not as text.
	body, err := webhook.Body(reset.Hook{Event: reset.HookWasntMe, ID: "0188d2c5a1b3f7e4a9c1d2e3", UserID: "zoë-42", ClientIP: "2001:db8::7", At: at})
	if err != nil {
		t.Fatal(err)
	}
	sig := webhook.Sign(secret, body, at)
	tampered := []byte(strings.Replace(string(body), "zoë-42", "zoë-43", 1))
	cases := []struct {
		name   string
		secret string
		body   []byte
		sig    string
		now    time.Time
		want   string
	}{
		{"genuine", string(secret), body, sig, at.Add(time.Minute), "valid"},
		{"body changed", string(secret), tampered, sig, at, "invalid"},
		{"another secret", "another-secret-of-enough-bytes", body, sig, at, "invalid"},
		{"replayed six minutes later", string(secret), body, sig, at.Add(6 * time.Minute), "invalid"},
		{"dated in the future", string(secret), body, sig, at.Add(-6 * time.Minute), "invalid"},
		{"time not a number", string(secret), body, strings.Replace(sig, "t=1767323045", "t=17673230x5", 1), at, "invalid"},
		{"no signature", string(secret), body, "", at, "invalid"},
	}
	for _, h := range snippetHarness {
		t.Run(h.lang, func(t *testing.T) {
			t.Parallel()
			re := regexp.MustCompile("(?s)\n```" + h.fence + "\n(.*?)\n```")
			blocks := re.FindAllSubmatch(doc, -1)
			if len(blocks) != 1 {
				t.Fatalf("docs/hooks.md has %d ```%s blocks, want 1", len(blocks), h.fence)
			}
			bin, err := exec.LookPath(h.interpreter)
			testenv.Need(t, h.interpreter, err)
			dir := t.TempDir()
			script := filepath.Join(dir, "verify"+h.ext)
			if err := os.WriteFile(script, append(append(blocks[0][1], '\n'), h.harness...), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				file := filepath.Join(dir, "body.json")
				if err := os.WriteFile(file, c.body, 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(bin, script, file)
				cmd.Env = append(os.Environ(), "SECRET="+c.secret, "SIG="+c.sig, "NOW="+strconv.FormatInt(c.now.Unix(), 10))
				out, err := cmd.CombinedOutput()
				if got := strings.TrimSpace(string(out)); err != nil || got != c.want {
					t.Errorf("%s snippet, %s: printed %q (%v), want %q", h.lang, c.name, got, err, c.want)
				}
			}
		})
	}
}
