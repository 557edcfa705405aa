package attack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RQ-REQ-03: trusting a whole network in trusted_proxies lets every host on it choose the
// client IP resetgate sees, and with it walk past the per-IP limits. `resetgate check` warns
// about any range wider than /16 (IPv4) or /48 (IPv6), and the shipped Kubernetes example
// trusts only the ingress controller, not the pod network. Issue 16, finding 6: the example
// trusted 10.0.0.0/8, so any pod in the cluster could pick its address.
func TestCheckWarnsAboutWideTrustedProxies(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{noStart: true, sqlite: true})
	for _, tt := range []struct {
		trusted []string
		warn    []string
	}{
		{[]string{"10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0"}, []string{"10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0"}},
		{[]string{"10.244.7.0/24", "172.16.0.0/16", "192.0.2.7", "2001:db8:1::/48", "::1"}, nil},
	} {
		w.conf["limits.trusted_proxies"] = tt.trusted
		out, err := w.run("check", "-offline")
		if err != nil {
			t.Fatalf("check -offline with trusted_proxies %v: %v\n%s", tt.trusted, err, out)
		}
		warned := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "warn") && strings.Contains(line, "trusted_proxies") {
				warned++
			}
		}
		if warned != len(tt.warn) {
			t.Errorf("trusted_proxies %v: %d warning(s), want %d:\n%s", tt.trusted, warned, len(tt.warn), out)
		}
		for _, cidr := range tt.warn {
			if !strings.Contains(out, cidr) {
				t.Errorf("no warning names %s:\n%s", cidr, out)
			}
		}
	}

	// The Kubernetes example's config.toml, as shipped, draws no such warning.
	b, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "resetgate-sidecar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.TrimSpace(l) == "config.toml: |":
			in = true
		case in && strings.HasPrefix(l, "    "):
			conf = append(conf, strings.TrimPrefix(l, "    "))
		case in:
			in = false
		}
	}
	path := filepath.Join(t.TempDir(), "k8s.toml")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check", "-offline", "-config", path)
	cmd.Env = append(os.Environ(), "LEGACY_DSN=postgres://x@y/z", "SMTP_PASSWORD=x", "REDIS_URL=redis://127.0.0.1:6379/0")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "warn") {
		t.Errorf("check -offline on the Kubernetes example: %v\n%s", err, out)
	}
}
