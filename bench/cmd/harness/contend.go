package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"
)

// cmdContend is `harness contend SCHEME`: it hashes with SCHEME, one hash after another on
// one thread, at the lowest priority (nice 19), until it is killed. It is the completions
// phase's floor: what the same hashing does to the proxied probe when it runs in a process
// of its own, sharing nothing with resetgate but the machine (its CPUs' caches, memory
// bandwidth and, on a VM, whatever else the two vCPUs share). Whatever resetgate's probe
// loses beyond that is resetgate's own doing.
func cmdContend(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: harness contend werkzeug|argon2id")
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, 19); err != nil {
		return fmt.Errorf("nice 19: %w", err)
	}
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	switch args[0] {
	case "werkzeug": // pbkdf2:sha256:600000, as the completion accounts' hashes
		for {
			if _, err := pbkdf2.Key(sha256.New, string(password), salt, 600000, 32); err != nil {
				return err
			}
		}
	case "argon2id": // m=19456,t=2,p=1, as the completion accounts' hashes
		for {
			argon2.IDKey(password, salt, 2, 19456, 1, 32)
		}
	}
	return fmt.Errorf("contend: unknown scheme %q", args[0])
}

// contentionFloor probes t while a `harness contend scheme` process hashes beside it, for
// the same 5 s as the idle probe.
func contentionFloor(ctx context.Context, e *env, t *target, scheme string, every time.Duration) (probeStats, error) {
	p, err := startProc("contend-"+scheme, filepath.Join(e.work, "contend-"+scheme+".log"), nil, e.self, "contend", scheme)
	if err != nil {
		return probeStats{}, err
	}
	defer p.stop()
	select {
	case <-ctx.Done():
		return probeStats{}, ctx.Err()
	case <-time.After(500 * time.Millisecond): // let it reach its first hash
	}
	if p.exited() {
		return probeStats{}, fmt.Errorf("harness contend %s exited: %s", scheme, p.tail())
	}
	pr := startProbe(t.url+pathPage, every)
	time.Sleep(5 * time.Second)
	lat, errs := pr.stop()
	return summarize(lat, errs), nil
}
