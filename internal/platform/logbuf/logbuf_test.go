package logbuf_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/platform/logbuf"
)

// sink records what reaches the destination, one entry per write(2).
type sink struct {
	mu     sync.Mutex
	writes [][]byte
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, bytes.Clone(p))
	return len(p), nil
}

func (s *sink) text() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.writes, nil)), len(s.writes)
}

func TestInfoWaitsForTheTimerWarnGoesAtOnce(t *testing.T) {
	var dst sink
	w := logbuf.NewWriter(&dst, time.Hour)
	defer w.Close()
	log := slog.New(w.Handler(slog.NewTextHandler(w, nil)))

	log.Info("first")
	log.Info("second")
	if got, _ := dst.text(); got != "" {
		t.Fatalf("info lines were written before any flush: %q", got)
	}
	log.Warn("third")
	got, n := dst.text()
	if n != 1 || !strings.Contains(got, "msg=first") || !strings.Contains(got, "msg=second") || !strings.Contains(got, "msg=third") {
		t.Fatalf("a warning must write everything buffered, in order, in one write: %d writes, %q", n, got)
	}
	if strings.Index(got, "first") > strings.Index(got, "second") || strings.Index(got, "second") > strings.Index(got, "third") {
		t.Fatalf("out of order: %q", got)
	}
}

func TestTimerAndCloseFlush(t *testing.T) {
	var dst sink
	w := logbuf.NewWriter(&dst, 10*time.Millisecond)
	fmt.Fprintln(w, "ticked")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := dst.text(); got == "ticked\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timer never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintln(w, "closing")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := dst.text(); got != "ticked\nclosing\n" {
		t.Fatalf("Close did not flush: %q", got)
	}
}

// Concurrent writers' lines stay whole, nothing is lost, and a busy writer
// makes far fewer writes than lines.
func TestConcurrentLinesStayWholeAndAreBatched(t *testing.T) {
	var dst sink
	w := logbuf.NewWriter(&dst, time.Hour)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer=%d line=%d %s\n", g, i, strings.Repeat("x", 40))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, n := dst.text()
	all := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(all) != writers*lines {
		t.Fatalf("%d lines arrived, want %d", len(all), writers*lines)
	}
	seen := map[string]bool{}
	for _, l := range all {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "writer=%d line=%d %s", &g, &i, &pad); err != nil || len(pad) != 40 {
			t.Fatalf("a torn line: %q", l)
		}
		seen[l] = true
	}
	if len(seen) != writers*lines {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*lines)
	}
	if n > len(got)/(32<<10)+1 {
		t.Fatalf("%d writes for %d bytes: not batched", n, len(got))
	}
}

func TestOversizedWriteGoesThroughWhole(t *testing.T) {
	var dst sink
	w := logbuf.NewWriter(&dst, time.Hour)
	fmt.Fprint(w, "small\n")
	big := strings.Repeat("y", 100<<10) + "\n"
	fmt.Fprint(w, big)
	got, n := dst.text()
	if n != 2 || got != "small\n"+big {
		t.Fatalf("want the buffered line then the big one in two writes, got %d writes of %d bytes", n, len(got))
	}
	_ = w.Close()
}
