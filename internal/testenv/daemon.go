package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startDaemon starts cmd (a server the test needs), waits until ready succeeds, and kills it
// when the test ends, logging what it printed if the test failed. It gives up, killing it,
// when the process exits first or 30 seconds pass; the error then carries its output.
func startDaemon(t testing.TB, name string, cmd *exec.Cmd, ready func(context.Context) error) error {
	t.Helper()
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	kill := func() {
		cmd.Process.Kill()
		<-exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited: %s", name, strings.TrimSpace(out.String()))
		case <-ctx.Done():
			kill()
			return fmt.Errorf("%s not ready: %v; output:\n%s", name, err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return nil
}
