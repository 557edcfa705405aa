// Package asynclog is a [slog.Handler] for high-volume lines that must never slow down the
// work they describe, such as an access log: records wait in a bounded queue and one background
// goroutine formats and writes them, in batches of whole lines, so that a burst costs one write
// rather than one per line. When the queue is full a record is dropped and counted instead of
// waiting. Lines that must not be lost (errors, audit records) belong on a synchronous handler.
package asynclog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLines is the queue length when [Options].Lines is 0: at most about 300 KiB of queued
// records, several times what a busy proxy logs in [DefaultDelay].
const DefaultLines = 1024

// DefaultWarnEvery is the shortest interval between two drop warnings when
// [Options].WarnEvery is 0.
const DefaultWarnEvery = time.Minute

// maxBatch is how many bytes of formatted lines are held before a write, even if more records
// are waiting.
const maxBatch = 64 << 10

// DefaultDelay is how long the writer lets records gather after the first one, when
// [Options].Delay is 0.
const DefaultDelay = 10 * time.Millisecond

// Options configures a [Logger]. The zero value is usable.
type Options struct {
	// Lines bounds the records waiting to be written; 0 means [DefaultLines].
	Lines int
	// Delay is how long the writer waits, after a record arrives in an empty queue, before it
	// writes what has gathered (sooner when the queue is half full); 0 means [DefaultDelay].
	// Waking the writer once per batch instead of once per record is most of the saving.
	Delay time.Duration
	// Warn, if set, is told how many records were dropped since its last call. It is called
	// from the writer goroutine (so it never delays a caller of Handle), at most once per
	// WarnEvery, after the next batch written once drops happened, and by [Logger.Close] for
	// drops not yet reported. It must not log through this Logger.
	Warn func(dropped uint64)
	// WarnEvery is the shortest interval between two calls of Warn; 0 means
	// [DefaultWarnEvery].
	WarnEvery time.Duration
}

// Logger owns the queue and the writer goroutine. Its [Logger.Handler] is safe for concurrent
// use and never waits for the writer; [Logger.Close] writes what is queued and stops the goroutine.
type Logger struct {
	root    slog.Handler
	o       Options
	dropped atomic.Uint64
	wake    chan struct{} // a record arrived in an empty queue
	hurry   chan struct{} // the queue is half full
	stop    chan struct{} // closed by Close
	flushes chan chan struct{}
	done    chan struct{} // closed when the writer has written everything

	mu      sync.Mutex // guards pending and closed
	pending []item
	closed  bool

	wmu   sync.Mutex // the batch: the writer goroutine, then Handle once closed
	batch batchWriter
}

type item struct {
	h slog.Handler
	r slog.Record
}

// New starts a Logger writing to out. newHandler builds the handler that formats the records
// (slog.NewJSONHandler, slog.NewTextHandler, with their options): it is given the batching
// writer in front of out, and must write each record with one call to Write, as the standard
// handlers do, so that out only ever receives whole lines.
func New(out io.Writer, newHandler func(io.Writer) slog.Handler, o Options) *Logger {
	if o.Lines <= 0 {
		o.Lines = DefaultLines
	}
	if o.Delay <= 0 {
		o.Delay = DefaultDelay
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = DefaultWarnEvery
	}
	l := &Logger{o: o, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), flushes: make(chan chan struct{})}
	l.batch.out = out
	l.root = newHandler(&l.batch)
	go l.run()
	return l
}

// Handler is the handler to log through: slog.New(l.Handler()).
func (l *Logger) Handler() slog.Handler { return &handler{l: l, next: l.root} }

// Dropped is the number of records dropped because the queue was full, since New.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Close waits until every record queued so far is written, then stops the writer goroutine.
// Records handled after Close are written at once, synchronously, so that none is lost to a
// late caller. Close may be called more than once.
func (l *Logger) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	<-l.done
}

// Flush returns once every record handled before the call is written. It is for tests and
// benchmarks that need a point where the output is complete; Close implies it.
func (l *Logger) Flush() {
	c := make(chan struct{})
	select {
	case l.flushes <- c:
		<-c
	case <-l.done:
	}
}

func (l *Logger) run() {
	defer close(l.done)
	var spare []item
	var warned uint64
	var last time.Time
	var flushed chan struct{}
	t := time.NewTimer(l.o.Delay)
	t.Stop()
	for stopped := false; !stopped; {
		select {
		case <-l.wake:
			t.Reset(l.o.Delay)
			select {
			case <-t.C:
			case <-l.hurry:
			case flushed = <-l.flushes:
			case <-l.stop:
				stopped = true
			}
			t.Stop()
		case flushed = <-l.flushes:
		case <-l.stop:
			stopped = true
		}
		l.mu.Lock()
		batch := l.pending
		l.pending = spare[:0]
		l.mu.Unlock()
		l.write(batch)
		clear(batch) // let go of the records' values
		spare = batch[:0]
		if flushed != nil {
			close(flushed)
			flushed = nil
		}
		if d := l.dropped.Load(); d != warned && l.o.Warn != nil && (stopped || time.Since(last) >= l.o.WarnEvery) {
			l.o.Warn(d - warned)
			warned, last = d, time.Now()
		}
	}
}

// write formats batch and hands it to out in writes of up to maxBatch bytes of whole lines.
func (l *Logger) write(batch []item) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	for _, it := range batch {
		it.h.Handle(context.Background(), it.r)
		if l.batch.len() >= maxBatch {
			l.batch.flush()
		}
	}
	l.batch.flush()
}

// handler queues records for its Logger; WithAttrs and WithGroup derive from next and share
// the queue.
type handler struct {
	l    *Logger
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle queues r, or drops and counts it when the queue is full; it never waits for the
// writer. The record's context is not kept: it is usually a request's, cancelled by the time
// the line is written.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	l := h.l
	l.mu.Lock()
	if !l.closed {
		n := len(l.pending)
		if n >= l.o.Lines {
			l.mu.Unlock()
			l.dropped.Add(1)
			return nil
		}
		l.pending = append(l.pending, item{h: h.next, r: r.Clone()})
		l.mu.Unlock()
		switch n {
		case 0:
			signal(l.wake)
		case l.o.Lines / 2:
			signal(l.hurry)
		}
		return nil
	}
	l.mu.Unlock()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := h.next.Handle(ctx, r)
	if ferr := l.batch.flush(); err == nil {
		err = ferr
	}
	return err
}

// signal wakes the writer without ever waiting: one pending signal is enough.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{l: h.l, next: h.next.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{l: h.l, next: h.next.WithGroup(name)}
}

// batchWriter collects whole records (one Write each) until flush hands them to out in one
// Write, so that another writer of out (the synchronous log) never lands inside a line.
type batchWriter struct {
	out io.Writer
	buf []byte
}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *batchWriter) len() int { return len(b.buf) }

func (b *batchWriter) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.out.Write(b.buf)
	if cap(b.buf) > 4*maxBatch { // a burst grew it: let the memory go
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
	return err
}
