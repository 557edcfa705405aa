package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time (make build, make release):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123 -X main.date=2026-01-02T03:04:05Z"
//
// date is the commit's date, not the build's, so that two builds of one commit are identical.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func versionString() string {
	c, d := commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12 && c == "":
				c = s.Value[:12]
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown date"
	}
	return fmt.Sprintf("resetgate %s (commit %s, %s, %s, %s/%s)", version, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
