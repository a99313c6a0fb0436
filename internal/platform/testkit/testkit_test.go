package testkit

import (
	"sync/atomic"
	"testing"
)

func TestConcurrentlyRunsEachOnceAndKeepsOrder(t *testing.T) {
	var calls atomic.Int32
	codes := Concurrently(20, func(i int) int { calls.Add(1); return 200 + i%2 })
	if calls.Load() != 20 || len(codes) != 20 || codes[0] != 200 || codes[1] != 201 {
		t.Fatalf("calls %d, codes %v", calls.Load(), codes)
	}
	if got := Tally(codes); got[200] != 10 || got[201] != 10 || len(got) != 2 {
		t.Errorf("Tally = %v", got)
	}
}
