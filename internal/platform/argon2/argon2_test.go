// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// The vectors below are x/crypto's (argon2_test.go at v0.58.0): genKat* is
// RFC 9106's test vector input, testVectors come from the reference CLI.
// Every test here computes in a Memory filled with garbage beforehand, so
// that a block read before this hash wrote it would change the result.

var (
	genKatPassword = []byte{
		0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
		0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
		0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
		0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	}
	genKatSalt   = []byte{0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02}
	genKatSecret = []byte{0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03}
	genKatAAD    = []byte{0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}
)

// dirtyMemory returns a Memory of n blocks of random words.
func dirtyMemory(rng *rand.Rand, n int) *Memory {
	m := &Memory{blocks: make([]block, n)}
	for i := range m.blocks {
		for j := range m.blocks[i] {
			m.blocks[i][j] = rng.Uint64()
		}
	}
	return m
}

// eachImplementation runs f with the SSE4 code (where there is one) and
// with the generic code.
func eachImplementation(t *testing.T, f func(t *testing.T)) {
	defer func(sse4 bool) { useSSE4 = sse4 }(useSSE4)
	if useSSE4 {
		t.Run("SSE4.1", f)
		useSSE4 = false
	}
	t.Run("generic", f)
}

// TestArgon2 is RFC 9106's test vectors (section 5), through the internal
// entry point, since IDKey has no secret or associated data.
func TestArgon2(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode int
		want string
	}{
		{"Argon2d", argon2d, "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb"},
		{"Argon2i", argon2i, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{"Argon2id", argon2id, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachImplementation(t, func(t *testing.T) {
				m := dirtyMemory(rand.New(rand.NewPCG(1, 2)), 64)
				got := m.deriveKey(tc.mode, genKatPassword, genKatSalt, genKatSecret, genKatAAD, 3, 32, 4, 32)
				if hex.EncodeToString(got) != tc.want {
					t.Errorf("got %x, want %s", got, tc.want)
				}
			})
		})
	}
}

func TestVectors(t *testing.T) {
	eachImplementation(t, func(t *testing.T) {
		password, salt := []byte("password"), []byte("somesalt")
		m := dirtyMemory(rand.New(rand.NewPCG(3, 4)), 8192) // one Memory for all
		for i, v := range testVectors {
			want, err := hex.DecodeString(v.hash)
			if err != nil {
				t.Fatalf("Test %d: failed to decode hash: %v", i, err)
			}
			hash := m.deriveKey(v.mode, password, salt, nil, nil, v.time, v.memory, v.threads, uint32(len(want)))
			if !bytes.Equal(hash, want) {
				t.Errorf("Test %d - got: %s want: %s", i, hex.EncodeToString(hash), hex.EncodeToString(want))
			}
			if v.mode == argon2id {
				if hash := IDKey(password, salt, v.time, v.memory, v.threads, uint32(len(want))); !bytes.Equal(hash, want) {
					t.Errorf("Test %d, IDKey - got: %s want: %s", i, hex.EncodeToString(hash), hex.EncodeToString(want))
				}
			}
		}
	})
}

// TestMatchesXCrypto compares Memory.IDKey with x/crypto's IDKey on random
// inputs, all in one Memory that starts full of garbage and then holds
// whatever the previous hash (of other parameters) left, and grows as the
// memory parameter does.
func TestMatchesXCrypto(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	eachImplementation(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		m := dirtyMemory(rng, 1024) // smaller than some hashes below: it grows
		bytesOf := func(max int) []byte {
			b := make([]byte, rng.IntN(max+1))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
		for i := range n {
			pw, salt := bytesOf(128), bytesOf(64)
			if len(salt) < 8 {
				salt = append(salt, "saltsalt"...)
			}
			time := 1 + rng.Uint32N(3)
			memory := 64 + rng.Uint32N(2048-64+1)
			threads := uint8(1 + rng.IntN(4))
			keyLen := 16 + rng.Uint32N(64-16+1)
			before := m.KiB()
			got := m.IDKey(pw, salt, time, memory, threads, keyLen)
			want := xargon2.IDKey(pw, salt, time, memory, threads, keyLen)
			if !bytes.Equal(got, want) {
				t.Fatalf("case %d (len(pw)=%d len(salt)=%d t=%d m=%d p=%d keyLen=%d): got %x, want %x",
					i, len(pw), len(salt), time, memory, threads, keyLen, got, want)
			}
			if m.KiB() < before {
				t.Fatalf("case %d: the memory shrank from %d to %d KiB", i, before, m.KiB())
			}
		}
		if m.KiB() == 1024 {
			t.Fatal("the memory never grew: the test does not cover growth")
		}
	})
}

// TestMemoryReused checks that a Memory keeps its blocks when they suffice
// and allocates little besides.
func TestMemoryReused(t *testing.T) {
	var m Memory
	if m.KiB() != 0 {
		t.Fatalf("zero Memory holds %d KiB", m.KiB())
	}
	pw, salt := []byte("password"), []byte("somesalt")
	m.IDKey(pw, salt, 1, 4096, 1, 32)
	if m.KiB() != 4096 {
		t.Fatalf("after m=4096: %d KiB", m.KiB())
	}
	first := &m.blocks[0]
	m.IDKey(pw, salt, 1, 1000, 2, 32) // fewer blocks: a prefix
	m.IDKey(pw, salt, 1, 4096, 4, 32)
	if m.KiB() != 4096 || &m.blocks[0] != first {
		t.Fatalf("the blocks were reallocated for hashes that fit (%d KiB)", m.KiB())
	}

	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		m.IDKey(pw, salt, 1, 4096, 1, 32)
	}
	runtime.ReadMemStats(&after)
	if perHash := (after.TotalAlloc - before.TotalAlloc) / runs; perHash > 64<<10 {
		t.Fatalf("a hash in a reused Memory allocated %d bytes", perHash)
	}

	m.IDKey(pw, salt, 1, 4100, 1, 32) // more: grows to exactly what it needs
	if m.KiB() != 4100 {
		t.Fatalf("after m=4100: %d KiB", m.KiB())
	}
}

// BenchmarkIDKey is one hash at the platform's parameters (m=19456,t=2,p=1),
// allocating its memory as x/crypto does, or in a reused Memory (allocated
// before the timer starts, as a hashing slot's is after its first hash).
func BenchmarkIDKey(b *testing.B) {
	const time, memory, threads, keyLen = 2, 19456, 1, 32
	pw, salt := []byte("correct horse battery staple"), make([]byte, 16)
	for _, bc := range []struct {
		name  string
		setup func() (hash func() []byte)
	}{
		{"allocating", func() func() []byte {
			return func() []byte { return IDKey(pw, salt, time, memory, threads, keyLen) }
		}},
		{"reused", func() func() []byte {
			var m Memory
			m.IDKey(pw, salt, time, memory, threads, keyLen)
			return func() []byte { return m.IDKey(pw, salt, time, memory, threads, keyLen) }
		}},
	} {
		b.Run(fmt.Sprintf("%s/m=%d,t=%d,p=%d", bc.name, memory, time, threads), func(b *testing.B) {
			hash := bc.setup()
			b.ReportAllocs()
			for b.Loop() {
				hash()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// Generated with the CLI of https://github.com/P-H-C/phc-winner-argon2/blob/master/argon2-specs.pdf
var testVectors = []struct {
	mode         int
	time, memory uint32
	threads      uint8
	hash         string
}{
	{
		mode: argon2i, time: 1, memory: 64, threads: 1,
		hash: "b9c401d1844a67d50eae3967dc28870b22e508092e861a37",
	},
	{
		mode: argon2d, time: 1, memory: 64, threads: 1,
		hash: "8727405fd07c32c78d64f547f24150d3f2e703a89f981a19",
	},
	{
		mode: argon2id, time: 1, memory: 64, threads: 1,
		hash: "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 1,
		hash: "8cf3d8f76a6617afe35fac48eb0b7433a9a670ca4a07ed64",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 1,
		hash: "3be9ec79a69b75d3752acb59a1fbb8b295a46529c48fbb75",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 1,
		hash: "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 2,
		hash: "2089f3e78a799720f80af806553128f29b132cafe40d059f",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 2,
		hash: "68e2462c98b8bc6bb60ec68db418ae2c9ed24fc6748a40e9",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 2,
		hash: "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362",
	},
	{
		mode: argon2i, time: 3, memory: 256, threads: 2,
		hash: "f5bbf5d4c3836af13193053155b73ec7476a6a2eb93fd5e6",
	},
	{
		mode: argon2d, time: 3, memory: 256, threads: 2,
		hash: "f4f0669218eaf3641f39cc97efb915721102f4b128211ef2",
	},
	{
		mode: argon2id, time: 3, memory: 256, threads: 2,
		hash: "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b",
	},
	{
		mode: argon2i, time: 4, memory: 4096, threads: 4,
		hash: "a11f7b7f3f93f02ad4bddb59ab62d121e278369288a0d0e7",
	},
	{
		mode: argon2d, time: 4, memory: 4096, threads: 4,
		hash: "935598181aa8dc2b720914aa6435ac8d3e3a4210c5b0fb2d",
	},
	{
		mode: argon2id, time: 4, memory: 4096, threads: 4,
		hash: "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a",
	},
	{
		mode: argon2i, time: 4, memory: 1024, threads: 8,
		hash: "0cdd3956aa35e6b475a7b0c63488822f774f15b43f6e6e17",
	},
	{
		mode: argon2d, time: 4, memory: 1024, threads: 8,
		hash: "83604fc2ad0589b9d055578f4d3cc55bc616df3578a896e9",
	},
	{
		mode: argon2id, time: 4, memory: 1024, threads: 8,
		hash: "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 3,
		hash: "5cab452fe6b8479c8661def8cd703b611a3905a6d5477fe6",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 3,
		hash: "22474a423bda2ccd36ec9afd5119e5c8949798cadf659f51",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 3,
		hash: "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079",
	},
	{
		mode: argon2i, time: 3, memory: 1024, threads: 6,
		hash: "d236b29c2b2a09babee842b0dec6aa1e83ccbdea8023dced",
	},
	{
		mode: argon2d, time: 3, memory: 1024, threads: 6,
		hash: "a3351b0319a53229152023d9206902f4ef59661cdca89481",
	},
	{
		mode: argon2id, time: 3, memory: 1024, threads: 6,
		hash: "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016",
	},
}

// A kept Memory holds nothing derived from the password and salt alone: the
// first two blocks of every lane, which a single pass leaves as initBlocks
// wrote them, are cleared once the key is out.
func TestMemoryKeepsNoPasswordDerivedBlocks(t *testing.T) {
	var m Memory
	const memory, threads = 64, 4
	key := m.IDKey([]byte("password"), []byte("somesalt"), 1, memory, threads, 32)
	if want := IDKey([]byte("password"), []byte("somesalt"), 1, memory, threads, 32); string(key) != string(want) {
		t.Fatal("clearing changed the key")
	}
	lane := memory / threads
	for l := range threads {
		for _, i := range []int{l * lane, l*lane + 1} {
			if m.blocks[i] != (block{}) {
				t.Errorf("block %d (lane %d) still holds what the password and salt alone derive", i, l)
			}
		}
	}
}
