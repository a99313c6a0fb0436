package keycrypto

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"
	"sync"
)

// defaultPoolCapacity keeps a few 2048-bit keys, the default and by far the
// most requested size, and one of each larger size.
var defaultPoolCapacity = map[int]int{2048: 4, 3072: 1, 4096: 1}

// Pool pre-generates RSA keys in the background so that creating an RSA
// signing key does not keep a request waiting for 0.1 s (2048 bits) to
// several seconds (4096 bits) of prime search.
//
// One goroutine refills the pool, one key at a time and smallest size first,
// so background generation never occupies more than one core. When the pool
// for a size is empty, [Pool.Generate] generates inline: the pool only saves
// time, it never makes a request wait for it. Pooled keys exist only in
// memory and each is handed out once.
type Pool struct {
	keys  map[int]chan *rsa.PrivateKey // by modulus size; a channel's buffer is that size's pool
	wake  chan struct{}                // signalled when a key is taken
	start sync.Once
}

// NewPool returns a pool holding up to capacity[bits] keys of each RSA size.
// A nil map means 4 keys of 2048 bits and 1 each of 3072 and 4096 bits; sizes
// absent from the map are not pooled. The pool is idle until [Pool.Start].
func NewPool(capacity map[int]int) (*Pool, error) {
	if capacity == nil {
		capacity = defaultPoolCapacity
	}
	p := &Pool{keys: make(map[int]chan *rsa.PrivateKey), wake: make(chan struct{}, 1)}
	for bits, n := range capacity {
		if !slices.Contains(rsaKeySizes, bits) || n < 0 {
			return nil, fmt.Errorf("keycrypto: cannot pool %d keys of %d bits", n, bits)
		}
		p.keys[bits] = make(chan *rsa.PrivateKey, n)
	}
	return p, nil
}

// Start launches the refilling goroutine; it stops when ctx is done (after
// finishing the key it is generating, as RSA generation cannot be
// interrupted). Calls after the first do nothing.
func (p *Pool) Start(ctx context.Context) {
	p.start.Do(func() { go p.fill(ctx) })
}

func (p *Pool) fill(ctx context.Context) {
	for ctx.Err() == nil {
		bits := p.missing()
		if bits == 0 {
			select {
			case <-ctx.Done():
			case <-p.wake:
			}
			continue
		}
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return // not expected for supported sizes; Generate then works inline and reports it
		}
		p.keys[bits] <- key // never blocks: this goroutine is the only sender and the buffer has room
	}
}

// missing returns the smallest size whose pool is not full, or 0.
func (p *Pool) missing() int {
	for _, bits := range rsaKeySizes {
		if q := p.keys[bits]; len(q) < cap(q) {
			return bits
		}
	}
	return 0
}

func (p *Pool) rsaKey(bits int) (*rsa.PrivateKey, error) {
	if p != nil {
		select {
		case key := <-p.keys[bits]: // a nil channel (size not pooled) is never ready
			select {
			case p.wake <- struct{}{}:
			default: // a wake-up is already pending
			}
			return key, nil
		default:
		}
	}
	return rsa.GenerateKey(rand.Reader, bits)
}
