// Package logbuf batches log output: lines are collected in memory and
// written in one write(2) every interval, when the buffer fills, when a
// record of level Warn or above is logged, and on Close.
//
// Why: the access log writes a line per request, and a write(2) per line was
// a measurable part of the server's CPU per request under load (see
// BENCHMARKS.md). The price is that a process killed without Close (SIGKILL,
// an unrecovered panic in a goroutine) loses at most the last interval of
// Info lines; warnings and errors are never held back.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxBuffered is the buffer size at which Write flushes at once: bounded
// memory, and large enough that a busy server writes mostly on the timer.
const maxBuffered = 64 << 10

// Writer is an io.Writer that buffers what is written to dst. It is safe for
// concurrent use; each Write's bytes stay together (slog writes a whole
// record per Write).
type Writer struct {
	mu   sync.Mutex
	dst  io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewWriter returns a Writer that flushes to dst every interval (> 0) until
// Close.
func NewWriter(dst io.Writer, interval time.Duration) *Writer {
	w := &Writer{dst: dst, buf: make([]byte, 0, maxBuffered), stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(interval)
	return w
}

func (w *Writer) flushEvery(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write buffers p, flushing first when p would not fit.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > maxBuffered {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBuffered {
			return w.dst.Write(p)
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.dst.Write(w.buf)
	w.buf = w.buf[:0] // a failed write drops the lines rather than growing without bound
	return err
}

// Close stops the timer and flushes. Writes after Close still work and are
// flushed by the next Flush or full buffer.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	return w.Flush()
}

// Handler wraps h, whose output goes to w, so that a record of level Warn or
// above is written out at once, with everything buffered before it.
func (w *Writer) Handler(h slog.Handler) slog.Handler { return urgent{h, w} }

type urgent struct {
	slog.Handler
	w *Writer
}

func (u urgent) Handle(ctx context.Context, rec slog.Record) error {
	err := u.Handler.Handle(ctx, rec)
	if rec.Level >= slog.LevelWarn {
		if ferr := u.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (u urgent) WithAttrs(attrs []slog.Attr) slog.Handler {
	return urgent{u.Handler.WithAttrs(attrs), u.w}
}

func (u urgent) WithGroup(name string) slog.Handler { return urgent{u.Handler.WithGroup(name), u.w} }
