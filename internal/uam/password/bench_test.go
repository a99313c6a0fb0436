package password

import (
	"context"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/platform/argon2"
)

// BenchmarkHash is raw argon2id at DefaultParams in one reused memory, as a
// Hasher's slot hashes: the floor that Hasher's numbers
// (BenchmarkHasherVerify) can be compared with.
func BenchmarkHash(b *testing.B) {
	p := DefaultParams()
	pw, salt := []byte("correct horse battery staple"), make([]byte, SaltLen)
	var mem argon2.Memory
	mem.IDKey(pw, salt, p.Time, p.Memory, p.Threads, KeyLen) // allocates it, as a slot's first hash does
	b.ReportAllocs()
	for b.Loop() {
		mem.IDKey(pw, salt, p.Time, p.Memory, p.Threads, KeyLen)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkHasherVerify is a whole Verify (parse, normalise, slot, argon2id,
// compare) at DefaultParams, one at a time.
func BenchmarkHasherVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, time.Minute)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", phc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
