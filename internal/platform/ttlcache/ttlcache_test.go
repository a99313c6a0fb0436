package ttlcache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKeepsSuccessesForTheTTLAndNeverFailures(t *testing.T) {
	c := New[string, int](time.Minute)
	now := time.Now()
	c.now = func() time.Time { return now }
	calls := 0
	fetch := func(v int, err error) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { calls++; return v, err }
	}
	ctx := context.Background()
	if _, err := c.Get(ctx, "a", fetch(0, errors.New("down"))); err == nil {
		t.Fatal("the failure was lost")
	}
	if v, err := c.Get(ctx, "a", fetch(1, nil)); v != 1 || err != nil || calls != 2 {
		t.Fatalf("after a failure: %d %v, %d fetches (a failure must not be kept)", v, err, calls)
	}
	if v, _ := c.Get(ctx, "a", fetch(2, nil)); v != 1 || calls != 2 {
		t.Fatalf("within the TTL: %d, %d fetches", v, calls)
	}
	now = now.Add(time.Minute)
	if v, _ := c.Get(ctx, "a", fetch(3, nil)); v != 3 || calls != 3 {
		t.Fatalf("at the TTL: %d, %d fetches", v, calls)
	}
}

func TestStaysBounded(t *testing.T) {
	c := New[int, int](time.Minute)
	c.max = 3
	for i := range 10 {
		_, _ = c.Get(context.Background(), i, func(context.Context) (int, error) { return i, nil })
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, bound 3", len(c.entries))
		}
	}
}
