package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/saasplatform/saas/internal/uam/password"
)

func TestMemoryLimitFormula(t *testing.T) {
	def := password.DefaultParams() // m=19456 KiB
	for _, c := range []struct {
		params      password.Params
		concurrency int
		want        int64
	}{
		{def, 1, 64<<20 + 19456<<10},
		{def, 2, 64<<20 + 2*19456<<10}, // 102 MiB on the 2-core bench machine
		{def, 8, 64<<20 + 8*19456<<10},
		{password.Params{Memory: 65536, Time: 3, Threads: 1}, 4, 64<<20 + 4*64<<20},
		{def, 0, 64<<20 + int64(runtime.GOMAXPROCS(0))*19456<<10}, // the hasher's default: one per core
	} {
		if got := memoryLimit(c.params, c.concurrency); got != c.want {
			t.Errorf("memoryLimit(%s, %d) = %d, want %d", c.params, c.concurrency, got, c.want)
		}
	}
}

func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	def := password.DefaultParams()

	t.Run("derived without GOMEMLIMIT", func(t *testing.T) {
		t.Setenv("GOMEMLIMIT", "")
		debug.SetMemoryLimit(math.MaxInt64)
		limit, derived := setMemoryLimit(def, 3)
		if want := memoryLimit(def, 3); !derived || limit != want || debug.SetMemoryLimit(-1) != want {
			t.Errorf("setMemoryLimit = %d, %v; runtime limit %d; want %d set", limit, derived, debug.SetMemoryLimit(-1), want)
		}
	})
	t.Run("GOMEMLIMIT wins", func(t *testing.T) {
		// The runtime applies GOMEMLIMIT when the process starts; here as it would.
		t.Setenv("GOMEMLIMIT", "300MiB")
		debug.SetMemoryLimit(300 << 20)
		limit, derived := setMemoryLimit(def, 3)
		if derived || limit != 300<<20 || debug.SetMemoryLimit(-1) != 300<<20 {
			t.Errorf("with GOMEMLIMIT=300MiB: setMemoryLimit = %d, %v; runtime limit %d; want the operator's 300 MiB kept",
				limit, derived, debug.SetMemoryLimit(-1))
		}
	})
}
