package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"resetgate/internal/testenv"
)

const unitPath = "/usr/lib/systemd/system/resetgate.service"

// TestDebInstallsRunsAsItsUserAndPurges installs the .deb on this machine with dpkg, checks
// the service user's config as that user, starts the binary as the unit does, and removes and
// purges the package, checking what each step keeps. It needs root and a machine without
// resetgate installed.
func TestDebInstallsRunsAsItsUserAndPurges(t *testing.T) {
	need(t, "dpkg", "dpkg")
	need(t, "setpriv", "util-linux")
	if os.Geteuid() != 0 {
		testenv.Need(t, "root (dpkg -i)", fmt.Errorf("running as uid %d", os.Geteuid()))
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "resetgate").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("a resetgate package is already on this machine (%s); the test installs and purges its own", out)
	}
	deb := filepath.Join(release(t), "resetgate_0.0.0~test-1_"+runtime.GOARCH+".deb")
	_, userBefore := user.Lookup("resetgate")
	t.Cleanup(func() { exec.Command("dpkg", "--purge", "resetgate").Run() })
	mustRun(t, "dpkg", "-i", deb)

	// What the package put in place.
	mode(t, "/usr/bin/resetgate", 0o755, "root", "root")
	mode(t, "/etc/resetgate/config.toml", 0o640, "root", "resetgate")
	mode(t, "/var/lib/resetgate", 0o700|os.ModeDir, "resetgate", "resetgate")
	mode(t, unitPath, 0o644, "root", "root")
	if c := mustRun(t, "dpkg-query", "-W", "-f=${Conffiles}", "resetgate"); !strings.Contains(c, "/etc/resetgate/config.toml") {
		t.Errorf("/etc/resetgate/config.toml is not a conffile; conffiles: %q", c)
	}
	u, err := user.Lookup("resetgate")
	if err != nil {
		t.Fatalf("no resetgate user after install: %v", err)
	}
	if userBefore == nil {
		t.Log("the resetgate user existed before the install (kept by an earlier purge); install kept it")
	}
	passwd := mustRun(t, "getent", "passwd", "resetgate")
	if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 || !strings.HasSuffix(strings.TrimSpace(passwd), ":/var/lib/resetgate:/usr/sbin/nologin") {
		t.Errorf("resetgate is not a system user with home /var/lib/resetgate and no shell: %s", passwd)
	}
	unitVerifies(t)

	// The shipped annotated config loads as the service user.
	asUser := []string{"setpriv", "--reuid=resetgate", "--regid=resetgate", "--init-groups", "--no-new-privs"}
	env := append(os.Environ(), "LEGACY_DSN=postgres://app@127.0.0.1:5432/app", "SMTP_PASSWORD=x")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(asUser[0], append(asUser[1:], args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("/usr/bin/resetgate", "check", "-offline", "-config", "/etc/resetgate/config.toml"); err != nil {
		t.Fatalf("the packaged config.toml does not load: %v\n%s", err, out)
	}

	// An admin's config, against this machine's services: checked live, then served.
	u2 := mustUsers(t)
	mail := testenv.Mailpit(t)
	listen, admin := freePort(t), freePort(t)
	cfg := testConfig(listen, admin, legacyApp(t), "/var/lib/resetgate", mail)
	if err := os.WriteFile("/etc/resetgate/config.toml", []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	env = append(env, "LEGACY_DSN="+u2.dsn)
	if out, err := run("/usr/bin/resetgate", "check", "-config", "/etc/resetgate/config.toml"); err != nil || !strings.Contains(out, "all checks passed") {
		t.Fatalf("resetgate check as the service user: %v\n%s", err, out)
	}
	// The unit's ExecStart, as its User and with its UMask (systemd itself may not run here).
	exec0 := unitValue(t, "ExecStart")
	if unitValue(t, "User") != "resetgate" || unitValue(t, "UMask") != "0077" {
		t.Fatalf("the unit no longer runs as resetgate with UMask 0077; update this test")
	}
	cmd := exec.Command("sh", "-c", "umask 0077 && exec "+strings.Join(asUser, " ")+" "+exec0)
	cmd.Env = env
	srv := startServer(t, cmd)
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", admin), srv.exited, srv.out.String)
	resetFlow(t, fmt.Sprintf("http://127.0.0.1:%d", listen), mail, u2)
	mode(t, "/var/lib/resetgate/resetgate.db", 0o600, "resetgate", "resetgate")
	if err := srv.stop(t); err != nil {
		t.Errorf("SIGTERM: resetgate exited with %v, want 0\n%s", err, srv.out.String())
	}

	// Remove: the binary and unit go; the edited config and the state stay.
	mustRun(t, "dpkg", "--remove", "resetgate")
	gone(t, "/usr/bin/resetgate", unitPath)
	if b, err := os.ReadFile("/etc/resetgate/config.toml"); err != nil || string(b) != cfg {
		t.Errorf("dpkg --remove did not keep the edited conffile: %v", err)
	}
	mode(t, "/var/lib/resetgate/resetgate.db", 0o600, "resetgate", "resetgate")
	if s := mustRun(t, "dpkg-query", "-W", "-f=${Status}", "resetgate"); s != "deinstall ok config-files" {
		t.Errorf("after remove, dpkg status %q, want config-files", s)
	}

	// Purge: config and state go; the user stays (postremove.sh says why).
	mustRun(t, "dpkg", "--purge", "resetgate")
	gone(t, "/etc/resetgate", "/var/lib/resetgate")
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "resetgate").Output(); strings.Contains(string(out), "installed") || strings.Contains(string(out), "config-files") {
		t.Errorf("after purge, dpkg still knows resetgate: %q", out)
	}
	if _, err := user.Lookup("resetgate"); err != nil {
		t.Errorf("purge removed the resetgate user; it is meant to stay: %v", err)
	}
}

// unitVerifies runs systemd-analyze verify on the installed unit, whose ExecStart now exists.
func unitVerifies(t *testing.T) {
	t.Helper()
	need(t, "systemd-analyze", "systemd")
	out, err := exec.Command("systemd-analyze", "verify", unitPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
}

// unitValue is a [Service] setting of deploy/resetgate.service (the last one, as systemd reads).
func unitValue(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("resetgate.service")
	if err != nil {
		t.Fatal(err)
	}
	v := ""
	for _, l := range strings.Split(string(b), "\n") {
		if k, val, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
			v = strings.TrimSpace(val)
		}
	}
	if v == "" {
		t.Fatalf("resetgate.service has no %s=", key)
	}
	return v
}

func mode(t *testing.T, path string, want os.FileMode, owner, group string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	o, _ := user.LookupId(strconv.Itoa(int(st.Uid)))
	g, _ := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
	var on, gn string
	if o != nil {
		on = o.Username
	}
	if g != nil {
		gn = g.Name
	}
	if fi.Mode() != want || on != owner || gn != group {
		t.Errorf("%s: %v %s:%s, want %v %s:%s", path, fi.Mode(), on, gn, want, owner, group)
	}
}

func gone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
}

func TestRPMHoldsTheSameFiles(t *testing.T) {
	need(t, "rpm", "rpm")
	dist := release(t)
	for arch, rpmArch := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		pkg := filepath.Join(dist, "resetgate-0.0.0~test-1."+rpmArch+".rpm")
		files := strings.Fields(mustRun(t, "rpm", "-qlp", pkg))
		want := []string{"/etc/resetgate", "/etc/resetgate/config.toml", "/usr/bin/resetgate", unitPath}
		if strings.Join(files, " ") != strings.Join(want, " ") {
			t.Errorf("%s: rpm -qlp lists %q, want %q", arch, files, want)
		}
		if c := strings.TrimSpace(mustRun(t, "rpm", "-qcp", pkg)); c != "/etc/resetgate/config.toml" {
			t.Errorf("%s: config files %q, want /etc/resetgate/config.toml", arch, c)
		}
		if a := mustRun(t, "rpm", "-qp", "--qf", "%{ARCH}", pkg); a != rpmArch {
			t.Errorf("%s: rpm arch %q, want %q", arch, a, rpmArch)
		}
		scripts := mustRun(t, "rpm", "-qp", "--scripts", pkg)
		for _, s := range []string{"useradd --system", "install -d -m 0700 -o resetgate -g resetgate /var/lib/resetgate"} {
			if !strings.Contains(scripts, s) {
				t.Errorf("%s: the rpm scripts lack %q", arch, s)
			}
		}
	}
}
