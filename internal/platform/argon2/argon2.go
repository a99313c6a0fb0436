// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is a copy of golang.org/x/crypto/argon2 at v0.58.0 with one
// change: the caller may supply the block memory, a [Memory], which is then
// reused from one hash to the next instead of being allocated for each.
//
// Why: x/crypto's IDKey allocates its m KiB of blocks afresh for every hash
// (19 MiB at the platform's parameters) and offers no way to reuse them. A
// CPU profile of `saas serve` in the sign-in load scenario showed about half
// of its samples in runtime.memclrNoHeapPointers, plus madvise, GC signals
// and scanning: under the server's soft memory limit the scavenger returns
// each freed 19 MiB to the operating system, and the next hash page-faults
// and zeroes it again. With a Memory per hashing slot, a sign-in costs its
// hash and nothing in the allocator or the collector, and the server's memory
// stays flat.
//
// What differs from x/crypto, line by line:
//   - [Memory] and its IDKey; the package's [IDKey] computes in a fresh Memory.
//   - Pass 0 writes each block (processBlock) where x/crypto XORs into it
//     (processBlockXOR). Argon2 version 0x13 XORs the new value into the old
//     block only in passes after the first; x/crypto's XOR in pass 0 is the
//     same only because make returns zeroed memory. Every block is written in
//     pass 0 before anything reads it (initBlocks writes the first two of each
//     lane; pass 0 reads only the previous block and blocks of completed
//     segments or earlier in the same segment), so a reused Memory's stale
//     contents never reach a result, and nothing needs zeroing.
//   - Once the key is out, the first two blocks of each lane are cleared:
//     after a single pass they still hold what the password and salt alone
//     derive, and a kept Memory outlives the hash.
//   - Argon2i's exported entry point (Key) is left out, and so is the loong64
//     assembly: platforms other than amd64 use the generic Go code. The
//     internal modes stay, because Argon2id is Argon2i's addressing followed by
//     Argon2d's, and the tests check all three against the reference vectors.
//
// Argon2id is the hybrid of Argon2i and Argon2d: data-independent memory
// access for the first half of the first pass, data-dependent for the rest.
// For its parameters see [RFC 9106 Section 4] and the architecture's choice in
// internal/uam/password.
//
// [RFC 9106 Section 4]: https://www.rfc-editor.org/rfc/rfc9106.html#section-4
package argon2

import (
	"encoding/binary"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// The Argon2 version implemented by this package.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// IDKey derives a key from the password, salt, and cost parameters using
// Argon2id returning a byte slice of length keyLen that can be used as
// cryptographic key. The CPU cost and parallelism degree must be greater than
// zero.
//
// For example, you can get a derived key for e.g. AES-256 (which needs a
// 32-byte key) by doing:
//
//	key := argon2.IDKey([]byte("some password"), salt, 1, 2*1024*1024, 4, 32)
//
// The example above uses the first [RFC 9106 Section 4] recommended option.
// If much less memory is available, the second recommended option is time=3,
// memory=64*1024 KiB (64 MiB), and threads=4.
//
// The time parameter specifies the number of passes over the memory and the
// memory parameter specifies the size of the memory in KiB. For example
// memory=2*1024*1024 sets the memory cost to ~2 GiB. The number of threads can
// be adjusted to the numbers of available CPUs. The cost parameters should be
// increased as memory latency and CPU parallelism increases. Remember to get a
// good random salt.
//
// IDKey allocates its memory for this one hash; [Memory.IDKey] reuses it.
//
// [RFC 9106 Section 4]: https://www.rfc-editor.org/rfc/rfc9106.html#section-4
func IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	var m Memory
	return m.IDKey(password, salt, time, memory, threads, keyLen)
}

// Memory is the block memory of Argon2 hashes, kept from one hash to the next.
// It grows to the largest memory parameter it has hashed with and never
// shrinks; to give the memory back, drop the Memory. Its contents are never
// zeroed: every block is written before it is read, so what a previous hash
// left behind cannot affect a result (see the package comment).
//
// The zero Memory is ready to use and holds nothing. A Memory may be used by
// one hash at a time only; it is not safe for concurrent use.
type Memory struct {
	blocks []block // len = cap; a hash uses blocks[:its memory]
}

// IDKey is the package's [IDKey] computed in m's blocks, which it allocates
// only when they are fewer than this hash needs (memory KiB, rounded down to a
// multiple of 4*threads, at least 8*threads). The result is a new slice.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.deriveKey(argon2id, password, salt, nil, nil, time, memory, threads, keyLen)
}

// KiB is the memory m holds, in KiB (Argon2 blocks): the largest memory
// parameter it has hashed with, after rounding, or 0.
func (m *Memory) KiB() int { return len(m.blocks) }

// use returns m's first n blocks, allocating anew if it holds fewer.
func (m *Memory) use(n uint32) []block {
	if uint32(len(m.blocks)) < n {
		m.blocks = nil // the old blocks can be collected during the allocation
		m.blocks = make([]block, n)
	}
	return m.blocks[:n]
}

func (m *Memory) deriveKey(mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := initBlocks(m.use(memory), &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode)
	key := extractKey(B, memory, uint32(threads), keyLen)
	// A kept Memory outlives the hash. With one pass, the first two blocks
	// of each lane are still what initBlocks derived from the password and
	// salt alone: a memory dump would let guesses be checked against them
	// at the cost of a BLAKE2b each. Clear them (later passes overwrite
	// them anyway, and every other block depends on the whole memory).
	lanes := memory / uint32(threads)
	for lane := uint32(0); lane < uint32(threads); lane++ {
		B[lane*lanes] = block{}
		B[lane*lanes+1] = block{}
	}
	return key
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of each lane of B, which may hold
// anything beforehand, and returns B.
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) []block {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
	return B
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The first pass writes the block: it may hold a previous
				// hash's data (x/crypto XORs here, into zeroed memory).
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
