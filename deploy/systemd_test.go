package deploy

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// maxExposure is what `systemd-analyze security` may score the unit (0 = locked down, 10 =
// unprotected). It measures 1.2 (systemd 252): what remains is what a proxy needs (the host's
// network and Internet and Unix sockets: upstream, database, SMTP, Redis; no IP allow list,
// as those addresses are the site's), the host's root directory, access to other users, and
// the read-only RTC device that ProtectClock= itself allows.
const maxExposure = 1.2

var exposure = regexp.MustCompile(`Overall exposure level for resetgate\.service: ([0-9.]+)`)

func TestUnitHardeningScore(t *testing.T) {
	need(t, "systemd-analyze", "systemd")
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", "resetgate.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposure.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	if score > maxExposure {
		t.Errorf("the unit's exposure is %.1f, above %.1f: a hardening setting was lost\n%s", score, maxExposure, out)
	}
}
