// Package pageout hands back to the kernel the pages of resetgate's own executable that
// start-up read and serving does not need.
//
// Start-up runs every package's initialisation, parses every catalogue and renders every page
// and mail once to check them, so it reads megabytes of the binary's code and read-only data
// that no request reads again: 20 MiB of a 35 MiB binary were resident after start-up, more
// than all the memory resetgate allocates (issue 17, idle RSS). Those pages are clean copies of
// the file: dropping them loses nothing, and whatever a request does need is faulted back in
// from the page cache on first use, a minor fault of about a microsecond. What stays resident
// afterwards is the working set.
//
// Only the executable's read-only mappings are touched, never its writable data: a private
// page that was written holds the program's variables.
package pageout

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// mapping is one line of /proc/self/maps that belongs to the executable and is not writable.
type mapping struct {
	start, end uintptr
}

// readOnlyMappings returns the mappings of the file at exe that are readable and not
// writable, from a /proc/PID/maps listing.
func readOnlyMappings(maps io.Reader, exe string) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != exe {
			continue
		}
		perms := fields[1]
		if len(perms) < 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		from, to, ok := strings.Cut(fields[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps: bad range %q", fields[0])
		}
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("maps: bad range %q", fields[0])
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

// Executable releases the resident pages of the running executable's read-only mappings and
// returns how many bytes of mappings it asked the kernel to page out. Where that is not
// possible (another OS, no /proc) it returns an error and changes nothing.
func Executable() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ms, err := readOnlyMappings(f, exe)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, fmt.Errorf("no read-only mapping of %s in /proc/self/maps", exe)
	}
	var total int64
	for _, m := range ms {
		if err := release(m); err != nil {
			return total, err
		}
		total += int64(m.end - m.start)
	}
	return total, nil
}
