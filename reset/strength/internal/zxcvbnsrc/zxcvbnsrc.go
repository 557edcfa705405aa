// Package zxcvbnsrc finds the data that package strength's generators read: the module
// github.com/trustelem/zxcvbn at the version go.mod requires, in the module cache (no network
// is needed), with its licence checked, since the data is redistributed inside resetgate's
// binary. Only generators and tests use it.
package zxcvbnsrc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the module the data comes from.
const Module = "github.com/trustelem/zxcvbn"

// Source is the module as found.
type Source struct {
	Dir, Version string
	License      []byte // its LICENSE.txt
}

// Open asks the go command where the required version of [Module] sits and reads its
// licence. It fails if the licence is no longer the MIT text: the terms must be reviewed
// before the data is regenerated.
func Open() (Source, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Version}}", Module)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return Source{}, fmt.Errorf("go list -m %s: %w", Module, err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(b)), "\t")
	if !ok || dir == "" {
		return Source{}, fmt.Errorf("go list -m %s: module not in the module cache (run go mod download %s)", Module, Module)
	}
	license, err := os.ReadFile(filepath.Join(dir, "LICENSE.txt"))
	if err != nil {
		return Source{}, err
	}
	if !bytes.Contains(license, []byte("Permission is hereby granted, free of charge")) {
		return Source{}, fmt.Errorf("%s %s: LICENSE.txt is no longer the MIT license; review it before regenerating", Module, version)
	}
	return Source{Dir: dir, Version: version, License: license}, nil
}
