package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/saasplatform/saas/internal/uam/password"
)

// memoryLimitBase is the soft memory limit's share for everything but
// password hashing. Measured in `make bench-load` (2 cores): outside the
// sign-in scenario the server's RSS stays near 60 MiB, of which about
// 30 MiB are the binary's mapped pages and runtime overhead that the limit
// does not govern, so the heap proper of all four services under load is
// some 30 MiB. The hashing slots' memory is live for good once they have
// hashed (internal/platform/argon2), so the base alone is the collector's
// room: 64 MiB leaves it ~34 MiB, a collection every few thousand reads
// rather than back to back, for a peak RSS of ~110–130 MiB under the whole
// load run. The limit is soft: if live memory ever exceeded it, the
// runtime would collect more often, not fail.
const memoryLimitBase = 64 << 20

// memoryLimit is the soft memory limit `saas serve` sets when the operator
// has not set GOMEMLIMIT: the base plus the memory of the password hashes
// that may run at once (each hashing slot keeps m KiB of argon2 blocks, and
// there are SAAS_HASH_CONCURRENCY slots, by default one per core). Without
// it the heap target is twice the live heap, so the slots' blocks (live for
// good once the slots have hashed) would let the heap grow by as much again
// before a collection (measured in `make bench-load`: see BENCHMARKS.md).
func memoryLimit(p password.Params, hashConcurrency int) int64 {
	if hashConcurrency <= 0 {
		hashConcurrency = runtime.GOMAXPROCS(0) // as password.NewHasher
	}
	return memoryLimitBase + int64(hashConcurrency)*int64(p.Memory)<<10
}

// setMemoryLimit applies memoryLimit unless GOMEMLIMIT is set: the
// operator's choice wins, and the runtime has already applied it. It
// returns the limit in force and whether this function set it.
func setMemoryLimit(p password.Params, hashConcurrency int) (limit int64, derived bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), false // -1 reads the limit without changing it
	}
	limit = memoryLimit(p, hashConcurrency)
	debug.SetMemoryLimit(limit)
	slog.Info("soft memory limit", "bytes", limit, "mib", limit>>20, "from", "base + SAAS_HASH_CONCURRENCY x argon2 m")
	return limit, true
}
