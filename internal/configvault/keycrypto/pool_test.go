package keycrypto

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"testing/synctest"
)

func TestNewPool(t *testing.T) {
	p, err := NewPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	for bits, want := range map[int]int{2048: 4, 3072: 1, 4096: 1} {
		if got := cap(p.keys[bits]); got != want {
			t.Errorf("default capacity for %d bits = %d, want %d", bits, got, want)
		}
	}
	for _, bad := range []map[int]int{{1024: 1}, {2048: -1}, {256: 0}} {
		if _, err := NewPool(bad); err == nil {
			t.Errorf("NewPool(%v) succeeded", bad)
		}
	}
}

func TestPoolHandsOutPooledKeysOnce(t *testing.T) {
	t.Parallel()
	p, err := NewPool(map[int]int{2048: 1})
	if err != nil {
		t.Fatal(err)
	}
	pooled, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.keys[2048] <- pooled

	for _, alg := range []Algorithm{PS256, RS256} { // the first takes the pooled key, the second generates inline
		m, err := p.Generate(Spec{alg, 2048})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Signer == pooled; got != (alg == PS256) {
			t.Errorf("%s: got the pooled key = %v", alg, got)
		}
		if m.Spec.Algorithm != alg {
			t.Errorf("Spec = %v", m.Spec)
		}
	}
	if _, err := p.Generate(Spec{EdDSA, 0}); err != nil { // not pooled, always inline
		t.Fatal(err)
	}
}

// TestPoolRefillsAndStops runs the refilling goroutine in a synctest bubble:
// synctest.Wait returns once it is idle, and synctest.Test fails if it is
// still running after its context is cancelled.
func TestPoolRefillsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p, err := NewPool(map[int]int{2048: 2})
		if err != nil {
			t.Fatal(err)
		}
		p.Start(ctx)
		p.Start(ctx) // a second refiller would compete for the CPU; Start is idempotent
		synctest.Wait()
		if n := len(p.keys[2048]); n != 2 {
			t.Fatalf("pool holds %d keys after start, want 2", n)
		}

		if _, err := p.Generate(Spec{RS256, 2048}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(p.keys[2048]); n != 2 {
			t.Fatalf("pool holds %d keys after a take, want 2 (refilled)", n)
		}

		cancel()
		synctest.Wait()
		if _, err := p.Generate(Spec{RS256, 2048}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(p.keys[2048]); n != 1 {
			t.Fatalf("pool holds %d keys after stop and a take, want 1", n)
		}
	})
}
