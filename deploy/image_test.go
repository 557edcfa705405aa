package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// podman runs Debian's podman the way this machine allows (the README's Install section):
// runc (crun refuses here), cgroupfs, and a containers.conf without default ulimits.
func podman(t *testing.T) func(args ...string) *exec.Cmd {
	t.Helper()
	need(t, "podman", "podman")
	need(t, "runc", "runc")
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) *exec.Cmd {
		cmd := exec.Command("podman", append([]string{"--runtime", "runc", "--cgroup-manager=cgroupfs"}, args...)...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		return cmd
	}
}

func mustPodman(t *testing.T, p func(...string) *exec.Cmd, args ...string) string {
	t.Helper()
	out, err := p(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestImageRunsTheResetFlow builds the FROM-scratch image with `make image` (nothing pulled)
// and runs it against PostgreSQL, Mailpit and a stand-in app on this machine: the layout, the
// whole reset, the image's own health check, and a clean stop on SIGTERM.
func TestImageRunsTheResetFlow(t *testing.T) {
	p := podman(t)
	src := filepath.Dir(release(t))
	image := "localhost/resetgate:" + testVersion
	cmd := exec.Command("make", "image", "VERSION="+testVersion, "IMAGE="+image, "PODMAN=podman --runtime runc --cgroup-manager=cgroupfs")
	cmd.Dir = src
	cmd.Env = p().Env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { p("rmi", "--force", image).Run() })

	var inspect []struct {
		Config struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			Volumes      map[string]struct{}
			ExposedPorts map[string]struct{}
			WorkingDir   string
		}
		Healthcheck struct{ Test []string } // podman puts it beside Config
	}
	if err := json.Unmarshal([]byte(mustPodman(t, p, "image", "inspect", image)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v", err)
	}
	c := inspect[0].Config
	if c.User != "65532:65532" || c.WorkingDir != "/data" || strings.Join(c.Entrypoint, " ") != "/usr/bin/resetgate" ||
		strings.Join(c.Cmd, " ") != "serve -config /etc/resetgate/config.toml" {
		t.Errorf("image config: user %q, workdir %q, entrypoint %q, cmd %q", c.User, c.WorkingDir, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("image volumes %v, want /data", c.Volumes)
	}
	if hc := inspect[0].Healthcheck.Test; strings.Join(hc, " ") != "CMD /usr/bin/resetgate healthcheck" {
		t.Errorf("image health check %q, want resetgate healthcheck", hc)
	}

	// The health check asks the default admin address, 127.0.0.1:9090; with host networking
	// that is this machine's port.
	if l, err := net.Listen("tcp", "127.0.0.1:9090"); err != nil {
		testenv.Need(t, "a free port 127.0.0.1:9090 for the image's health check", err)
	} else {
		l.Close()
	}
	u := mustUsers(t)
	mail := testenv.Mailpit(t)
	listen := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfgPath, []byte(testConfig(listen, 9090, legacyApp(t), "/data", mail)), 0o644); err != nil {
		t.Fatal(err)
	}
	name := testenv.Name("resetgate-test-")
	t.Cleanup(func() { p("rm", "--force", "--volumes", name).Run() })
	run := p("run", "--name", name, "--network", "host", "--read-only",
		"-e", "LEGACY_DSN="+u.dsn, "-v", cfgPath+":/etc/resetgate/config.toml:ro", image)
	srv := startServer(t, run)
	waitHealthy(t, "http://127.0.0.1:9090/healthz", srv.exited, srv.out.String)
	if out, err := p("healthcheck", "run", name).CombinedOutput(); err != nil {
		t.Errorf("podman healthcheck run (the image's HEALTHCHECK): %v\n%s", err, out)
	}
	if id := mustPodman(t, p, "exec", name, "/usr/bin/resetgate", "version"); !strings.HasPrefix(id, "resetgate "+testVersion+" ") {
		t.Errorf("resetgate version in the image: %q", id)
	}
	resetFlow(t, fmt.Sprintf("http://127.0.0.1:%d", listen), mail, u)

	mustPodman(t, p, "stop", "--time", "30", name)
	<-srv.exited
	if code := mustPodman(t, p, "inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("after SIGTERM (podman stop) the container exited with %s, want 0:\n%s", code, srv.out.String())
	}
	if !strings.Contains(srv.out.String(), `"msg":"stopped"`) {
		t.Errorf("resetgate did not log a clean stop:\n%s", srv.out.String())
	}
}
