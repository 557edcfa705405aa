package pageout

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const maps = `00400000-0139b000 r-xp 00000000 00:2f 1234   /opt/resetgate/bin/resetgate
0139b000-024f0000 r--p 00f9b000 00:2f 1234   /opt/resetgate/bin/resetgate
024f0000-025cc000 rw-p 020f0000 00:2f 1234   /opt/resetgate/bin/resetgate
025cc000-04621000 rw-p 00000000 00:00 0
7fb89fb88000-7fb89fb90000 rw-s 00000000 00:2f 99   /var/lib/resetgate/users.db-shm
7fb8e6800000-7fb8e6808000 r--s 00000000 00:2f 98   /var/lib/resetgate/resetgate.db
7fb8e6900000-7fb8e6908000 r--p 00000000 00:2f 97   /opt/resetgate/bin/resetgate-old
7ffd5e1f0000-7ffd5e211000 rw-p 00000000 00:00 0    [stack]
`

func TestReadOnlyMappings(t *testing.T) {
	got, err := readOnlyMappings(strings.NewReader(maps), "/opt/resetgate/bin/resetgate")
	if err != nil {
		t.Fatal(err)
	}
	// Code and read-only data; not the writable data segment, not the shared database maps,
	// not another file whose name starts the same.
	want := []mapping{{0x400000, 0x139b000}, {0x139b000, 0x24f0000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("readOnlyMappings = %x, want %x", got, want)
	}
	if _, err := readOnlyMappings(strings.NewReader("zz-yy r--p 0 0:0 1 /x\n"), "/x"); err == nil {
		t.Error("a malformed range was accepted")
	}
}

// rssFile is this process's resident file-backed memory, in KiB.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The test binary's own pages: what start-up read leaves, and the tests still run after.
func TestExecutableReleasesPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := Executable(); err == nil {
			t.Fatal("Executable succeeded where there is no /proc/self/maps")
		}
		return
	}
	before := rssFile(t)
	n, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	t.Logf("asked to page out %d KiB of mappings; RssFile %d KiB → %d KiB", n/1024, before, after)
	if n == 0 || after >= before {
		t.Errorf("RssFile went from %d KiB to %d KiB after paging out %d bytes of mappings, want it lower", before, after, n)
	}
	// Everything still works: code and read-only data fault back in.
	if got := strings.Repeat("ab", 3); got != "ababab" {
		t.Errorf("after paging out: %q", got)
	}
}
