package asynclog_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/internal/asynclog"
)

// lockedBuffer is an io.Writer the test can read while the writer goroutine writes.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.b.Write(p)
}

func (w *lockedBuffer) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSuffix(w.b.String(), "\n"), "\n")
}

func jsonHandler(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }

func TestCloseWritesEveryQueuedLine(t *testing.T) {
	var out lockedBuffer
	l := asynclog.New(&out, jsonHandler, asynclog.Options{Lines: 10000})
	log := slog.New(l.Handler()).With("component", "test")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				log.Info("request", "g", g, "i", i)
			}
		})
	}
	wg.Wait()
	l.Close()
	lines := out.lines()
	if len(lines) != 8*500 || l.Dropped() != 0 {
		t.Fatalf("after Close: %d lines, %d dropped; want %d lines, none dropped", len(lines), l.Dropped(), 8*500)
	}
	seen := map[string]bool{}
	for _, line := range lines {
		if !strings.HasPrefix(line, `{"time":`) || !strings.Contains(line, `"component":"test"`) {
			t.Fatalf("line %q is not a whole record with the logger's attributes", line)
		}
		seen[line[strings.Index(line, `"g":`):]] = true
	}
	if len(seen) != 8*500 {
		t.Errorf("%d distinct records, want %d", len(seen), 8*500)
	}
	if out.writes >= len(lines) {
		t.Errorf("%d writes for %d lines: the lines were not batched", out.writes, len(lines))
	}

	// A record after Close is written at once rather than lost.
	log.Info("late")
	if got := out.lines(); got[len(got)-1] == "" || !strings.Contains(got[len(got)-1], `"msg":"late"`) {
		t.Errorf("record after Close: last line %q, want it written at once", got[len(got)-1])
	}
	l.Close() // twice is fine
}

// blockingWriter holds the writer goroutine in Write until released.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	lockedBuffer
	once sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered); <-w.release })
	return w.lockedBuffer.Write(p)
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	var mu sync.Mutex
	var warnings []uint64
	l := asynclog.New(out, jsonHandler, asynclog.Options{Lines: 2, WarnEvery: time.Hour, Warn: func(n uint64) {
		mu.Lock()
		warnings = append(warnings, n)
		mu.Unlock()
	}})
	log := slog.New(l.Handler())
	log.Info("first")
	<-out.entered // the writer goroutine is stuck writing "first"
	for i := range 5 {
		log.Info(fmt.Sprint("queued or dropped ", i)) // must return although nothing is written
	}
	if got := l.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d with a queue of 2 and 5 records behind a stuck write, want 3", got)
	}
	close(out.release)
	l.Close()
	lines := out.lines()
	want := []string{"first", "queued or dropped 0", "queued or dropped 1"}
	if len(lines) != len(want) {
		t.Fatalf("written %d lines %q, want %d", len(lines), lines, len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], `"msg":"`+w+`"`) {
			t.Errorf("line %d = %q, want msg %q", i, lines[i], w)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || warnings[0] != 3 {
		t.Errorf("warnings = %v, want one warning of 3 drops (at most once per WarnEvery)", warnings)
	}
}

func TestSameBytesAsTheSynchronousHandler(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 4, 5, 6000, time.UTC)
	record := func() slog.Record {
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/a b\"c"), slog.Int("status", 200),
			slog.Int64("bytes", 12), slog.Duration("duration", 1500*time.Microsecond), slog.String("remote", "192.0.2.1"),
			slog.String("route", "upstream"))
		return r
	}
	for name, newHandler := range map[string]func(io.Writer) slog.Handler{
		"json": jsonHandler,
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			newHandler(&want).WithAttrs([]slog.Attr{slog.String("k", "v")}).Handle(context.Background(), record())
			var out lockedBuffer
			l := asynclog.New(&out, newHandler, asynclog.Options{})
			l.Handler().WithAttrs([]slog.Attr{slog.String("k", "v")}).Handle(context.Background(), record())
			l.Close()
			if got := out.b.String(); got != want.String() {
				t.Errorf("asynclog wrote %q, want the synchronous handler's %q", got, want.String())
			}
		})
	}
}

func TestEnabledFollowsTheLevel(t *testing.T) {
	var lv slog.LevelVar
	l := asynclog.New(io.Discard, func(w io.Writer) slog.Handler {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: &lv})
	}, asynclog.Options{})
	defer l.Close()
	h := l.Handler()
	if !h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled(info) = false at level info")
	}
	lv.Set(slog.LevelWarn)
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled(info) = true after the level was raised to warn")
	}
}

func TestFlushWritesWhatCameBefore(t *testing.T) {
	var out lockedBuffer
	l := asynclog.New(&out, jsonHandler, asynclog.Options{Delay: time.Hour})
	defer l.Close()
	log := slog.New(l.Handler())
	for i := range 3 {
		log.Info(fmt.Sprint("line ", i))
		l.Flush() // not an hour: Flush does not wait for Delay
		if got := out.lines(); len(got) != i+1 {
			t.Fatalf("after %d records and Flush: %d lines %q", i+1, len(got), got)
		}
	}
	l.Close()
	l.Flush() // after Close: returns at once
}
