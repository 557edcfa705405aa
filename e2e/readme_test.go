package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigs checks the config.toml of each example's five-minute guide with
// `resetgate check -offline`, so the snippets operators copy cannot rot.
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
			m := block.FindAllSubmatch(readme, -1)
			if len(m) != 1 {
				t.Fatalf("examples/%s/README.md has %d toml blocks, want 1", app, len(m))
			}
			indent := string(m[0][1])
			var lines []string
			for line := range strings.Lines(string(m[0][2])) {
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
				t.Errorf("resetgate check -offline on examples/%s/README.md's config: %v\n%s", app, err, out)
			}
		})
	}
}
