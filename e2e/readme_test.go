package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigs checks every config.toml block of each example guide (the try-out and the
// five-minute guide) with `resetgate check -offline`, so the snippets operators copy cannot rot.
func TestREADMEConfigs(t *testing.T) {
	t.Parallel()
	bin := resetgateBinary(t)
	block := regexp.MustCompile("(?s)\n( *)```toml\n(.*?)\n *```")
	for _, app := range []string{"flask", "php"} {
		t.Run(app, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join("..", "examples", app, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			blocks := block.FindAllSubmatch(readme, -1)
			if len(blocks) == 0 {
				t.Fatalf("examples/%s/README.md has no toml block", app)
			}
			// The try-out's config and the five-minute guide's: each must pass the check.
			for i, m := range blocks {
				indent := string(m[1])
				var lines []string
				for line := range strings.Lines(string(m[2])) {
					lines = append(lines, strings.TrimPrefix(line, indent))
				}
				cfg := filepath.Join(t.TempDir(), "config.toml")
				if err := os.WriteFile(cfg, []byte(strings.Join(lines, "")), 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(bin, "check", "-offline", "-config", cfg)
				cmd.Env = append(os.Environ(), "LEGACY_DSN=postgres://app@127.0.0.1/app", "SMTP_PASSWORD=x")
				if app == "php" {
					cmd.Env = append(cmd.Env, "LEGACY_DSN=app@tcp(127.0.0.1:3306)/app")
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("resetgate check -offline on toml block %d of examples/%s/README.md: %v\n%s", i+1, app, err, out)
				}
			}
		})
	}
}
