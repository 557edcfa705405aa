package main

import (
	"os"
	"strings"
	"testing"
)

// The configs shipped in deploy/ must load, so they cannot rot.
func TestDeployConfigsLoad(t *testing.T) {
	getenv := env("LEGACY_DSN", "postgres://x@y/z", "SMTP_PASSWORD", "x", "REDIS_URL", "redis://127.0.0.1:6379/0")
	if _, err := loadConfig("deploy/compose/config.toml", getenv); err != nil {
		t.Errorf("deploy/compose/config.toml: %v", err)
	}
	// The Kubernetes example embeds config.toml in a ConfigMap: take the indented block.
	b, err := os.ReadFile("deploy/kubernetes/resetgate-sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.TrimSpace(l) == "config.toml: |":
			in = true
		case in && strings.HasPrefix(l, "    "):
			lines = append(lines, strings.TrimPrefix(l, "    "))
		case in:
			in = false
		}
	}
	if len(lines) == 0 {
		t.Fatal("no config.toml block in the Kubernetes example")
	}
	if _, err := parseConfig("kubernetes config.toml", []byte(strings.Join(lines, "\n")), getenv); err != nil {
		t.Errorf("the Kubernetes example's config.toml: %v", err)
	}
}
