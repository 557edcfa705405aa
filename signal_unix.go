//go:build unix

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// watchHUP calls reload on every SIGHUP until ctx is done or the returned stop is called.
func watchHUP(ctx context.Context, reload func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				reload()
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
