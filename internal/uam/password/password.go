// Package password hashes, verifies and vets the UAM service's passwords
// (ARCHITECTURE §7).
//
// Hashing is argon2id with parameters stored in a PHC string, so the
// parameters can be raised later: a hash made with other parameters still
// verifies, and Verify reports that it should be replaced. A fixed set of
// slots bounds the hashes running at once, because each one needs
// Params.Memory KiB; each slot keeps that memory from one hash to the next
// (internal/platform/argon2), so a hash allocates nothing the collector must
// reclaim and the memory of hashing stays flat under load.
//
// Passwords are Unicode-normalised to NFC before they are hashed, verified or
// vetted, as the OpaqueString profile of RFC 8265 does (NIST SP 800-63B
// suggests normalising too), so the same password typed on systems that
// compose accents differently still matches. NFC rather than NFKC keeps
// compatibility-distinct characters (ligatures, full-width forms) distinct.
// The choice is part of every stored hash: changing it would lock users out.
//
// Nothing in this package logs, and no error text contains a password or a
// stored hash.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/saasplatform/saas/internal/platform/argon2"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Fixed sizes of what Hash writes. Verify accepts other sizes in stored
// hashes (within bounds) and asks for a rehash.
const (
	SaltLen = 16
	KeyLen  = 32
)

// Bounds on parameters. The minimum is OWASP's argon2id baseline; the maxima
// only refuse settings (or stored hashes) that would exhaust the machine.
const (
	MinMemory  = 19 * 1024 // KiB
	MinTime    = 2
	MinThreads = 1
	MaxMemory  = 1 << 20 // KiB = 1 GiB
	MaxTime    = 20
	MaxThreads = 16
)

// Bounds of what Verify accepts from a stored hash; see parsePHC.
const (
	minStoredSalt = 8 // argon2's own minimum
	maxStoredSalt = 64
	minStoredKey  = 16
	maxStoredKey  = 64
	// maxPHCLen is comfortably above the longest acceptable string, and keeps
	// the parser from decoding megabytes of base64.
	maxPHCLen = 256
)

var (
	// ErrBusy is wrapped in the KindUnavailable *problem.Error returned when
	// no hashing slot frees up within the Hasher's wait.
	ErrBusy = errors.New("password: no hashing slot available")
	// ErrMalformedHash is wrapped in the KindInternal *problem.Error returned
	// when a stored hash cannot be used. Its text never includes the hash.
	ErrMalformedHash = errors.New("password: stored hash is malformed or unsupported")
	// ErrTooLong is wrapped in the KindInvalid *problem.Error returned by Hash
	// for a password over MaxBytes (Check refuses those first).
	ErrTooLong = errors.New("password: too long")
)

// Params are argon2id's cost parameters. Salt and key sizes are fixed.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultParams is the minimum the architecture allows: 19 MiB, 2 passes, 1 lane.
func DefaultParams() Params { return Params{Memory: MinMemory, Time: MinTime, Threads: MinThreads} }

// String is the PHC parameter list, "m=19456,t=2,p=1", which ParseParams reads.
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// Validate refuses parameters below the minimum or absurdly high. It applies
// to configured parameters; stored hashes have their own, looser floor (parsePHC).
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory:
		return fmt.Errorf("password: argon2 memory m=%d KiB is outside %d..%d", p.Memory, MinMemory, MaxMemory)
	case p.Time < MinTime || p.Time > MaxTime:
		return fmt.Errorf("password: argon2 time t=%d is outside %d..%d", p.Time, MinTime, MaxTime)
	case p.Threads < MinThreads || p.Threads > MaxThreads:
		return fmt.Errorf("password: argon2 parallelism p=%d is outside %d..%d", p.Threads, MinThreads, MaxThreads)
	}
	return nil
}

// ParseParams reads "m=19456,t=2,p=1" (the form inside a PHC string, in that
// order; surrounding spaces ignored), e.g. from SAAS_ARGON2_PARAMS, and
// validates it. One format for both keeps one parser.
func ParseParams(s string) (Params, error) {
	p, ok := parseParamList(strings.TrimSpace(s))
	if !ok {
		return Params{}, fmt.Errorf("password: argon2 params %q: want m=<KiB>,t=<passes>,p=<lanes>", s)
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// parseParamList parses exactly "m=<n>,t=<n>,p=<n>" with canonical decimals,
// capping each number by its maximum so nothing absurd gets through.
func parseParamList(s string) (Params, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Params{}, false
	}
	var v [3]uint64
	for i, spec := range []struct {
		key string
		max uint64
	}{{"m", MaxMemory}, {"t", MaxTime}, {"p", MaxThreads}} {
		num, ok := strings.CutPrefix(parts[i], spec.key+"=")
		if !ok {
			return Params{}, false
		}
		if v[i], ok = canonicalUint(num, spec.max); !ok {
			return Params{}, false
		}
	}
	return Params{Memory: uint32(v[0]), Time: uint32(v[1]), Threads: uint8(v[2])}, true
}

// canonicalUint accepts only plain decimal digits without leading zeros (one
// spelling per value) not above max.
func canonicalUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n <= max
}

// Hasher hashes and verifies passwords with a bound on concurrent hashes.
//
// Each hashing slot owns the block memory of its hashes (an argon2.Memory),
// reused from one hash to the next without zeroing. A slot holds none until
// its first hash, so a Hasher that has not hashed holds nothing; after that
// the slot keeps Params.Memory KiB (19 MiB by default). Free slots are taken
// in turn, so after a few hashes every slot holds its memory: maxConcurrent ×
// Params.Memory in all, for the life of the Hasher, which the server's soft
// memory limit counts already (cmd/saas/memlimit.go). A stored hash with a
// larger m than Params (Verify accepts up to MaxMemory) grows its slot's
// memory for that one hash, and the slot drops it afterwards rather than
// keeping up to 1 GiB for good; the slot's next hash allocates again.
type Hasher struct {
	params Params
	// slots holds one entry per hashing slot that is free: taking one is
	// acquiring the slot, so len(slots) is the number of free slots. An
	// entry is the slot's memory, nil until the slot first hashes (or after
	// it dropped an oversized memory).
	slots chan *argon2.Memory
	wait  time.Duration
	dummy string // a PHC string at params that no password matches, for VerifyDummy
}

// NewHasher returns a Hasher that writes hashes at p and runs at most
// maxConcurrent hashes at once (runtime.GOMAXPROCS(0) if <= 0: argon2 with
// p=1 is CPU-bound, so more would only queue inside the scheduler while holding
// memory). A caller waits at most wait for a slot (not at all if wait <= 0)
// before getting ErrBusy.
//
// It panics if p is invalid: parameters are configuration, checked at start-up
// with Validate or ParseParams.
func NewHasher(p Params, maxConcurrent int, wait time.Duration) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	// Random salt and key: the dummy hash goes through exactly Verify's path,
	// and a 256-bit random key is never matched.
	salt, key := make([]byte, SaltLen), make([]byte, KeyLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it crashes the program instead)
	_, _ = rand.Read(key)
	slots := make(chan *argon2.Memory, maxConcurrent)
	for range maxConcurrent {
		slots <- nil // allocated at the slot's first hash
	}
	return &Hasher{params: p, slots: slots, wait: wait, dummy: encodePHC(p, salt, key)}
}

// Params are the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns a PHC string for pw:
// $argon2id$v=19$m=19456,t=2,p=1$<salt, base64 raw std>$<key, base64 raw std>.
// It does not apply the policy; call Check first. It refuses passwords over
// MaxBytes so that Hash alone cannot be made to hash megabytes.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxBytes {
		return "", &problem.Error{Kind: problem.KindInvalid, Detail: "the password is too long", Err: ErrTooLong}
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key, err := h.derive(ctx, pw, salt, h.params, KeyLen)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify checks pw against a stored PHC string, using the parameters it names,
// and compares in constant time. rehash is true only when ok and the stored
// hash differs from what Hash would write now (parameters, salt or key size):
// the caller should then store a fresh Hash, upgrading old hashes on a
// successful login.
//
// A password over MaxBytes is simply wrong (Hash never accepted one) and is
// not hashed; VerifyDummy does the same, so this reveals nothing about a user.
// A malformed or unsupported stored hash is an error of KindInternal that
// wraps ErrMalformedHash; its text never contains the hash.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, rehash bool, err error) {
	st, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxBytes {
		return false, false, nil
	}
	key, err := h.derive(ctx, pw, st.salt, st.params, uint32(len(st.key)))
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(key, st.key) != 1 {
		return false, false, nil
	}
	return true, st.params != h.params || len(st.salt) != SaltLen || len(st.key) != KeyLen, nil
}

// VerifyDummy does the work of Verify at h.Params() against a hash no password
// matches, so that an unknown (or disabled, or locked) user costs the same
// time as a wrong password. It only reports ErrBusy or ctx errors, exactly as
// Verify would.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}

// derive runs argon2id on the NFC form of pw in a slot's memory.
func (h *Hasher) derive(ctx context.Context, pw string, salt []byte, p Params, keyLen uint32) ([]byte, error) {
	mem, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = new(argon2.Memory)
	}
	defer h.release(mem)
	return mem.IDKey([]byte(norm.NFC.String(pw)), salt, p.Time, p.Memory, p.Threads, keyLen), nil
}

// acquire takes a hashing slot, and with it the slot's memory (nil if it has
// none yet), waiting at most h.wait and never past ctx. argon2 cannot be
// interrupted, so a cancelled ctx is checked before starting rather than
// wasting a slot on a caller who has gone.
func (h *Hasher) acquire(ctx context.Context) (*argon2.Memory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case mem := <-h.slots:
		return mem, nil
	default:
	}
	if h.wait <= 0 {
		return nil, busy()
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case mem := <-h.slots:
		return mem, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, busy()
	}
}

// release gives a slot back with its memory, unless a stored hash's larger m
// grew the memory beyond Params.Memory: that is dropped, so that a rare old
// or foreign hash does not pin up to MaxMemory for the life of the process.
// (A hash with m at most Params.Memory never grows it past that: argon2
// rounds m down to a multiple of 4p, or up to 8p <= 128 KiB, far below
// MinMemory.) The send never blocks: every entry taken is given back once.
func (h *Hasher) release(mem *argon2.Memory) {
	if mem.KiB() > int(h.params.Memory) {
		mem = nil
	}
	h.slots <- mem
}

func busy() error {
	return &problem.Error{
		Kind:       problem.KindUnavailable,
		Detail:     "the service is busy; try again shortly",
		RetryAfter: time.Second,
		Err:        ErrBusy,
	}
}

var b64 = base64.RawStdEncoding.Strict() // Strict: one encoding per value (no stray trailing bits)

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s", argon2.Version, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type stored struct {
	params    Params
	salt, key []byte
}

// parsePHC reads "$argon2id$v=19$m=..,t=..,p=..$salt$key". Upper bounds are
// Validate's, so a stored hash cannot make Verify allocate more than a
// configured one could. The floor is argon2's own (t>=1, p>=1, m>=8p), not
// Validate's: a hash made under older, weaker settings should still verify and
// then be upgraded, not lock its user out.
func parsePHC(phc string) (stored, error) {
	if len(phc) > maxPHCLen {
		return stored{}, malformed("too long")
	}
	// The base64 decoder skips \r and \n even in Strict mode; refusing every
	// byte outside printable ASCII keeps one spelling per hash.
	for i := 0; i < len(phc); i++ {
		if phc[i] <= ' ' || phc[i] > '~' {
			return stored{}, malformed("unexpected characters")
		}
	}
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[0] != "" {
		return stored{}, malformed("wrong number of fields")
	}
	if f[1] != "argon2id" {
		return stored{}, malformed("unsupported algorithm")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return stored{}, malformed("unsupported version")
	}
	p, ok := parseParamList(f[3])
	if !ok || p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		return stored{}, malformed("bad parameters")
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) < minStoredSalt || len(salt) > maxStoredSalt {
		return stored{}, malformed("bad salt")
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) < minStoredKey || len(key) > maxStoredKey {
		return stored{}, malformed("bad key")
	}
	return stored{params: p, salt: salt, key: key}, nil
}

// malformed wraps a fixed reason, never the input, so the hash cannot reach a log.
func malformed(reason string) error {
	return &problem.Error{
		Kind:   problem.KindInternal,
		Detail: "a stored password hash is unusable",
		Err:    fmt.Errorf("%w (%s)", ErrMalformedHash, reason),
	}
}
