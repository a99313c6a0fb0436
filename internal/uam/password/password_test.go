package password

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	xargon2 "golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/saasplatform/saas/internal/platform/argon2"
	"github.com/saasplatform/saas/internal/platform/problem"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func newTestHasher(t testing.TB) *Hasher {
	t.Helper()
	return NewHasher(DefaultParams(), 2, time.Minute)
}

func mustHash(t testing.TB, h *Hasher, pw string) string {
	t.Helper()
	phc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return phc
}

// takeSlot takes a free hashing slot, as a concurrent hash would, and returns
// the function that gives it back.
func takeSlot(h *Hasher) (giveBack func()) {
	mem := <-h.slots
	return func() { h.slots <- mem }
}

// rawPHC builds a stored hash directly, for parameters Hash would not use.
// It hashes with x/crypto's argon2, not the fork the Hasher uses, so the tests
// also check that hashes stored before the fork still verify.
func rawPHC(p Params, pw string, saltLen, keyLen int) string {
	salt := make([]byte, saltLen)
	for i := range salt {
		salt[i] = byte(i + 1)
	}
	return encodePHC(p, salt, xargon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(keyLen)))
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t)
	ctx := context.Background()
	const pw = "correct horse battery staple"
	phc := mustHash(t, h, pw)
	if !phcPattern.MatchString(phc) {
		t.Fatalf("PHC string %q does not have the expected form", phc)
	}
	if again := mustHash(t, h, pw); again == phc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if ok, rehash, err := h.Verify(ctx, pw, phc); !ok || rehash || err != nil {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"correct horse battery stapl", "Correct horse battery staple", pw + " ", ""} {
		if ok, rehash, err := h.Verify(ctx, wrong, phc); ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
	// Every byte of the key counts: a stored key differing only in its last
	// byte does not match.
	i := strings.LastIndexByte(phc, '$')
	key, err := b64.DecodeString(phc[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	key[len(key)-1] ^= 1
	if ok, _, err := h.Verify(ctx, pw, phc[:i+1]+b64.EncodeToString(key)); ok || err != nil {
		t.Fatalf("Verify against a key with its last byte changed = %v, %v; want false, nil", ok, err)
	}
}

// Hash, Verify and Check all see the NFC form, so a decomposed "é" (e +
// combining acute) matches a precomposed one.
func TestNormalisation(t *testing.T) {
	h := newTestHasher(t)
	composed, decomposed := "caf\u00e9-au-lait", "cafe\u0301-au-lait"
	phc := mustHash(t, h, composed)
	if ok, _, err := h.Verify(context.Background(), decomposed, phc); !ok || err != nil {
		t.Fatalf("decomposed form: %v, %v; want a match", ok, err)
	}
	// What is hashed is the NFC form, not merely the same form each time:
	// a hash of the composed bytes, made without this package, matches the
	// decomposed input. Changing the form would lock out every user.
	if ok, _, err := h.Verify(context.Background(), decomposed, rawPHC(DefaultParams(), composed, SaltLen, KeyLen)); !ok || err != nil {
		t.Fatalf("decomposed input against a hash of the composed bytes: %v, %v; want a match", ok, err)
	}
	if ok, _, _ := h.Verify(context.Background(), "cafe-au-lait", phc); ok {
		t.Fatal("the unaccented password matched")
	}
	// 8 characters once composed, 9 code points as typed.
	if err := Check("body.password", strings.Repeat("e\u0301", 4)+"abcd"); err != nil {
		t.Fatalf("Check(decomposed 8 characters) = %v", err)
	}
	if err := Check("body.password", strings.Repeat("e\u0301", 3)+"abcd"); err == nil {
		t.Fatal("Check accepted 7 composed characters given as 10 code points")
	}
}

func TestVerifyRehash(t *testing.T) {
	ctx := context.Background()
	const pw = "a long enough password"
	old := NewHasher(DefaultParams(), 1, time.Minute)
	phc := mustHash(t, old, pw)

	stronger := DefaultParams()
	stronger.Time = 3
	cur := NewHasher(stronger, 1, time.Minute)
	if ok, rehash, err := cur.Verify(ctx, pw, phc); !ok || !rehash || err != nil {
		t.Fatalf("old-params hash under t=3: %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if ok, rehash, err := cur.Verify(ctx, "wrong password!", phc); ok || rehash || err != nil {
		t.Fatalf("wrong password on old-params hash: %v, %v, %v; want false, false, nil (no rehash without a match)", ok, rehash, err)
	}
	if ok, rehash, err := old.Verify(ctx, pw, phc); !ok || rehash || err != nil {
		t.Fatalf("same params: %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	fresh := mustHash(t, cur, pw)
	if !strings.Contains(fresh, "$m=19456,t=3,p=1$") {
		t.Fatalf("new hash %q does not carry the new params", fresh)
	}

	// Hashes below today's minimum (but within argon2's own) still verify, and
	// are upgraded; so are other salt and key sizes.
	for name, stored := range map[string]string{
		"weaker params": rawPHC(Params{Memory: 4096, Time: 1, Threads: 1}, pw, SaltLen, KeyLen),
		"short salt":    rawPHC(DefaultParams(), pw, 8, KeyLen),
		"long key":      rawPHC(DefaultParams(), pw, SaltLen, 64),
	} {
		if ok, rehash, err := old.Verify(ctx, pw, stored); !ok || !rehash || err != nil {
			t.Errorf("%s: %v, %v, %v; want true, true, nil", name, ok, rehash, err)
		}
	}
}

func TestVerifyRefusesMalformed(t *testing.T) {
	pw := "a long enough password"
	good := rawPHC(DefaultParams(), pw, SaltLen, KeyLen)
	f := strings.Split(good, "$") // "", alg, v, params, salt, key
	salt, key := f[4], f[5]
	join := func(parts ...string) string { return "$" + strings.Join(parts, "$") }

	// A PHC string whose salt decodes, but whose last base64 character has
	// stray low bits set, so Strict decoding refuses it.
	nonCanonicalSalt := salt[:len(salt)-1] + string(flipLowBit(salt[len(salt)-1]))

	for _, tc := range []struct{ name, phc string }{
		{"empty", ""},
		{"argon2i", join("argon2i", "v=19", "m=19456,t=2,p=1", salt, key)},
		{"argon2d", join("argon2d", "v=19", "m=19456,t=2,p=1", salt, key)},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"old version", join("argon2id", "v=16", "m=19456,t=2,p=1", salt, key)},
		{"no version", join("argon2id", "m=19456,t=2,p=1", salt, key)},
		{"missing key", join("argon2id", "v=19", "m=19456,t=2,p=1", salt)},
		{"missing params", join("argon2id", "v=19", salt, key)},
		{"extra field", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, key, "x")},
		{"no leading $", good[1:]},
		{"trailing $", good + "$"},
		{"params out of order", join("argon2id", "v=19", "t=2,m=19456,p=1", salt, key)},
		{"missing p", join("argon2id", "v=19", "m=19456,t=2", salt, key)},
		{"keyid param", join("argon2id", "v=19", "m=19456,t=2,p=1,keyid=x", salt, key)},
		{"huge m", join("argon2id", "v=19", "m=4294967295,t=2,p=1", salt, key)},
		{"m over 1 GiB", join("argon2id", "v=19", "m=1048577,t=2,p=1", salt, key)},
		{"m overflows uint32", join("argon2id", "v=19", "m=99999999999,t=2,p=1", salt, key)},
		{"t too high", join("argon2id", "v=19", "m=19456,t=21,p=1", salt, key)},
		{"p too high", join("argon2id", "v=19", "m=19456,t=2,p=17", salt, key)},
		{"t zero", join("argon2id", "v=19", "m=19456,t=0,p=1", salt, key)},
		{"p zero", join("argon2id", "v=19", "m=19456,t=2,p=0", salt, key)},
		{"m below 8p", join("argon2id", "v=19", "m=31,t=2,p=4", salt, key)},
		{"leading zero", join("argon2id", "v=19", "m=019456,t=2,p=1", salt, key)},
		{"plus sign", join("argon2id", "v=19", "m=+19456,t=2,p=1", salt, key)},
		{"space", join("argon2id", "v=19", "m=19456, t=2,p=1", salt, key)},
		{"bad base64 salt", join("argon2id", "v=19", "m=19456,t=2,p=1", "!!!!"+salt[4:], key)},
		{"padded base64 key", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, key+"=")},
		{"url base64 key", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, strings.NewReplacer("+", "-", "/", "_").Replace(key)+"-_")},
		{"non-canonical base64", join("argon2id", "v=19", "m=19456,t=2,p=1", nonCanonicalSalt, key)},
		{"salt too short", join("argon2id", "v=19", "m=19456,t=2,p=1", base64.RawStdEncoding.EncodeToString([]byte("1234567")), key)},
		{"key too short", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 15)))},
		{"key too long", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 65)))},
		{"newline in key", join("argon2id", "v=19", "m=19456,t=2,p=1", salt, key[:20]+"\n"+key[20:])},
		{"carriage return in salt", join("argon2id", "v=19", "m=19456,t=2,p=1", salt[:10]+"\r"+salt[10:], key)},
		{"overlong string", good + strings.Repeat("A", maxPHCLen)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The only slot is taken and nobody waits: if Verify tried to hash,
			// it would report ErrBusy rather than the malformed hash.
			h := NewHasher(DefaultParams(), 1, 0)
			takeSlot(h)
			ok, rehash, err := h.Verify(context.Background(), pw, tc.phc)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
			if k := problem.KindOf(err); k != problem.KindInternal {
				t.Fatalf("kind %v, want KindInternal", k)
			}
			assertNoLeak(t, err)
		})
	}

	if nonCanonicalSalt == salt {
		t.Fatal("the non-canonical salt case tests nothing")
	}
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("the well-formed base case is refused: %v", err)
	}
}

// flipLowBit changes a base64 character into the one that differs in the
// lowest of its 6 bits, which for a final character are bits Strict requires
// to be zero.
func flipLowBit(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return alphabet[strings.IndexByte(alphabet, c)^1]
}

// malformedText is every text a refused stored hash can produce: fixed
// strings only, so nothing of the input (salt, key or anything else) can be in it.
var malformedText = regexp.MustCompile(`^a stored password hash is unusable: password: stored hash is malformed or unsupported \((too long|unexpected characters|wrong number of fields|unsupported algorithm|unsupported version|bad parameters|bad salt|bad key)\)$`)

// assertNoLeak fails unless err's text and client detail are fixed strings.
func assertNoLeak(t *testing.T, err error) {
	t.Helper()
	if !malformedText.MatchString(err.Error()) {
		t.Fatalf("error text %q is not one of the fixed texts", err)
	}
	if d := problem.From(err, "/").Detail; d != "an unexpected error occurred" {
		t.Fatalf("client detail %q", d)
	}
}

func TestParams(t *testing.T) {
	d := DefaultParams()
	if d != (Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("DefaultParams() = %+v", d)
	}
	for _, tc := range []struct {
		p  Params
		ok bool
	}{
		{d, true},
		{Params{MaxMemory, MaxTime, MaxThreads}, true},
		{Params{64 * 1024, 3, 4}, true},
		{Params{19455, 2, 1}, false},
		{Params{19456, 1, 1}, false},
		{Params{19456, 2, 0}, false},
		{Params{MaxMemory + 1, 2, 1}, false},
		{Params{19456, 21, 1}, false},
		{Params{19456, 2, 17}, false},
		{Params{}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}

	for _, tc := range []struct {
		in   string
		want Params
		ok   bool
	}{
		{"m=19456,t=2,p=1", d, true},
		{" m=65536,t=3,p=4\n", Params{65536, 3, 4}, true},
		{"m=1048576,t=20,p=16", Params{MaxMemory, MaxTime, MaxThreads}, true},
		{"m=8192,t=2,p=1", Params{}, false},   // below the minimum
		{"m=19456,t=2,p=99", Params{}, false}, // absurd
		{"m=19456,t=2", Params{}, false},
		{"t=2,m=19456,p=1", Params{}, false},
		{"m=19456,t=2,p=1,", Params{}, false},
		{"m=19456;t=2;p=1", Params{}, false},
		{"m=19 MiB,t=2,p=1", Params{}, false},
		{"m=-1,t=2,p=1", Params{}, false},
		{"", Params{}, false},
	} {
		got, err := ParseParams(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseParams(%q) = %+v, %v; want %+v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got, err := ParseParams(Params{65536, 3, 4}.String()); err != nil || got != (Params{65536, 3, 4}) {
		t.Errorf("String does not round-trip: %+v, %v", got, err)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("NewHasher accepted parameters below the minimum")
			}
		}()
		NewHasher(Params{Memory: 1024, Time: 1, Threads: 1}, 1, 0)
	}()
	if h := NewHasher(d, 0, 0); cap(h.slots) != runtime.GOMAXPROCS(0) || len(h.slots) != cap(h.slots) || h.Params() != d {
		t.Errorf("NewHasher(d, 0, 0): %d slots (%d free), params %+v; want GOMAXPROCS=%d slots, all free",
			cap(h.slots), len(h.slots), h.Params(), runtime.GOMAXPROCS(0))
	}
}

// slotMemories is the memory of each free slot, which it leaves in place.
func slotMemories(h *Hasher) []*argon2.Memory {
	mems := make([]*argon2.Memory, len(h.slots))
	for i := range mems {
		mems[i] = <-h.slots
	}
	for _, m := range mems {
		h.slots <- m
	}
	return mems
}

// A slot holds no memory until it hashes, then keeps and reuses it; a stored
// hash with a larger m than the Hasher's grows it for that hash only.
func TestHasherMemory(t *testing.T) {
	ctx := context.Background()
	const pw = "a long enough password"
	if mems := slotMemories(NewHasher(DefaultParams(), 4, 0)); len(mems) != 4 || mems[0] != nil || mems[3] != nil {
		t.Fatalf("a new Hasher's slots hold memory: %v", mems)
	}

	h := NewHasher(DefaultParams(), 1, 0)
	phc := mustHash(t, h, pw)
	mem := slotMemories(h)[0]
	if mem == nil || mem.KiB() != int(DefaultParams().Memory) {
		t.Fatalf("after a hash the slot holds %v, want %d KiB", mem, DefaultParams().Memory)
	}
	for name, stored := range map[string]string{
		"same params":    phc,
		"smaller memory": rawPHC(Params{Memory: 4096, Time: 1, Threads: 1}, pw, SaltLen, KeyLen),
		"4 lanes":        rawPHC(Params{Memory: DefaultParams().Memory, Time: 1, Threads: 4}, pw, SaltLen, KeyLen),
	} {
		if ok, _, err := h.Verify(ctx, pw, stored); !ok || err != nil {
			t.Fatalf("%s: Verify = %v, %v", name, ok, err)
		}
		if again := slotMemories(h)[0]; again != mem || again.KiB() != int(DefaultParams().Memory) {
			t.Fatalf("%s: the slot's memory was replaced or resized (%d KiB)", name, again.KiB())
		}
	}

	// A larger stored m (still within MaxMemory) verifies, and its memory is
	// not kept.
	big := rawPHC(Params{Memory: 2 * DefaultParams().Memory, Time: 1, Threads: 1}, pw, SaltLen, KeyLen)
	if ok, rehash, err := h.Verify(ctx, pw, big); !ok || !rehash || err != nil {
		t.Fatalf("larger m: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong password!", big); ok || err != nil {
		t.Fatalf("larger m, wrong password: Verify = %v, %v", ok, err)
	}
	if m := slotMemories(h)[0]; m != nil {
		t.Fatalf("after a larger stored m the slot kept %d KiB", m.KiB())
	}
	if ok, _, err := h.Verify(ctx, pw, phc); !ok || err != nil {
		t.Fatalf("after the larger m: Verify = %v, %v", ok, err)
	}
	if m := slotMemories(h)[0]; m == nil || m.KiB() != int(DefaultParams().Memory) {
		t.Fatal("the slot did not allocate its memory again")
	}
}

// With the only slot taken and a tiny wait, every hashing call is refused with
// a KindUnavailable error that says to retry after a second.
func TestHasherBusy(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, time.Millisecond)
	ctx := context.Background()
	phc := mustHash(t, h, "a long enough password")

	giveBack := takeSlot(h) // a concurrent hash holds the only slot
	checkBusy := func(what string, err error) {
		t.Helper()
		var pe *problem.Error
		if !errors.Is(err, ErrBusy) || !errors.As(err, &pe) || pe.Kind != problem.KindUnavailable || pe.RetryAfter != time.Second {
			t.Errorf("%s: %v; want ErrBusy as KindUnavailable with RetryAfter 1s", what, err)
		}
	}
	_, err := h.Hash(ctx, "a long enough password")
	checkBusy("Hash", err)
	_, _, err = h.Verify(ctx, "a long enough password", phc)
	checkBusy("Verify", err)
	checkBusy("VerifyDummy", h.VerifyDummy(ctx, "whoever"))

	giveBack()
	if _, err := h.Hash(ctx, "a long enough password"); err != nil {
		t.Fatalf("Hash after the slot freed: %v", err)
	}
}

// Two real Hash calls on one slot: the second either waits its turn (long
// wait) or, with the slot held for its whole wait, is refused.
func TestHasherConcurrentHash(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultParams(), 1, time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = h.Hash(ctx, "a long enough password") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued Hash %d: %v", i, err)
		}
	}
	if len(h.slots) != cap(h.slots) {
		t.Fatalf("%d slots still taken after all hashes returned", cap(h.slots)-len(h.slots))
	}
}

func TestHasherContext(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, time.Hour)

	// A caller that has already gone gets ctx.Err() without any hashing,
	// even with a slot free.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(gone, "a long enough password"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with a cancelled context: %v; want context.Canceled", err)
	}
	if err := h.VerifyDummy(gone, "a long enough password"); !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyDummy with a cancelled context: %v; want context.Canceled", err)
	}

	// Cancelling while waiting for a slot ends the wait with ctx.Err(). The
	// context is cancelled once acquire asks for Done, that is once it is past
	// its first ctx.Err() check and waiting, so the wait itself is tested.
	giveBack := takeSlot(h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := &doneSpy{Context: ctx, asked: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(waiting, "a long enough password")
		done <- err
	}()
	<-waiting.asked
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("Hash cancelled while waiting: %v; want context.Canceled", err)
	}
	giveBack()
	if len(h.slots) != cap(h.slots) {
		t.Fatal("a cancelled wait took a slot")
	}
}

// doneSpy reports the first call of Done.
type doneSpy struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (c *doneSpy) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t)
	if err := h.VerifyDummy(context.Background(), "a long enough password"); err != nil {
		t.Fatalf("VerifyDummy: %v", err)
	}
	// The dummy is an ordinary, well-formed hash at the Hasher's params, so
	// the work done is Verify's at h.Params().
	st, err := parsePHC(h.dummy)
	if err != nil || st.params != h.Params() || len(st.salt) != SaltLen || len(st.key) != KeyLen {
		t.Fatalf("dummy hash: %+v, %v", st, err)
	}
}

func TestTooLong(t *testing.T) {
	h := newTestHasher(t)
	ctx := context.Background()
	long := strings.Repeat("x", MaxBytes+1)
	_, err := h.Hash(ctx, long)
	if !errors.Is(err, ErrTooLong) || problem.KindOf(err) != problem.KindInvalid {
		t.Fatalf("Hash(%d bytes) = %v; want ErrTooLong as KindInvalid", len(long), err)
	}
	if strings.Contains(err.Error(), "xxxx") {
		t.Fatalf("error text repeats the password: %q", err)
	}
	// Longest allowed still hashes and verifies: no truncation at either end.
	max := strings.Repeat("😀", MaxChars)
	phc := mustHash(t, h, max)
	if ok, _, err := h.Verify(ctx, max, phc); !ok || err != nil {
		t.Fatalf("Verify(128 emoji) = %v, %v", ok, err)
	}
	if ok, _, err := h.Verify(ctx, max[:len(max)-4]+"😁", phc); ok || err != nil {
		t.Fatalf("a different last character matched: %v, %v", ok, err)
	}
	// Over the cap Verify answers "wrong" without hashing (the only slot is
	// taken and nobody waits, so an attempt would be ErrBusy).
	busy := NewHasher(DefaultParams(), 1, 0)
	takeSlot(busy)
	if ok, rehash, err := busy.Verify(ctx, long, phc); ok || rehash || err != nil {
		t.Fatalf("Verify(%d bytes) = %v, %v, %v; want false, false, nil", len(long), ok, rehash, err)
	}
	if err := busy.VerifyDummy(ctx, long); err != nil {
		t.Fatalf("VerifyDummy(%d bytes) = %v; want nil like Verify", len(long), err)
	}
}

// FuzzVerify feeds arbitrary stored hashes to Verify, which must never panic,
// must refuse anything outside the bounds without hashing, and must never
// repeat the input in an error.
func FuzzVerify(f *testing.F) {
	h := NewHasher(DefaultParams(), 0, time.Minute)
	// A fixed hash (seeds are shared with worker processes) of "fuzzing" at
	// cheap parameters, which Verify accepts and asks to upgrade.
	cheap := "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwgJCgsMDQ4PEA$" + base64.RawStdEncoding.EncodeToString(
		xargon2.IDKey([]byte("fuzzing"), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 64, 1, KeyLen))
	f.Add("fuzzing", cheap)
	f.Add("fuzzing", strings.Replace(cheap, "argon2id", "argon2i", 1))
	f.Add("fuzzing", strings.Replace(cheap, "m=64", "m=4294967295", 1))
	f.Add("fuzzing", strings.Replace(cheap, "t=1", "t=4000000000", 1))
	f.Add("fuzzing", strings.Replace(cheap, "v=19", "v=16", 1))
	f.Add("x", "$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Add("", "")
	f.Add("fuzzing", "$$$$$")
	f.Add("0", "$$$argon2id$$")
	f.Add("0", "$argon2id$v=19$m=10,t=1,p=1$00000000000$0000000000000000000\r00A") // base64 skips \r
	f.Fuzz(func(t *testing.T, pw, phc string) {
		st, perr := parsePHC(phc)
		if perr != nil {
			ok, rehash, err := h.Verify(context.Background(), pw, phc)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) || problem.KindOf(err) != problem.KindInternal {
				t.Fatalf("Verify(refused hash) = %v, %v, %v", ok, rehash, err)
			}
			assertNoLeak(t, err)
			return
		}
		p := st.params
		if p.Memory > MaxMemory || p.Time < 1 || p.Time > MaxTime || p.Threads < 1 || p.Threads > MaxThreads ||
			p.Memory < 8*uint32(p.Threads) || len(st.salt) < minStoredSalt || len(st.salt) > maxStoredSalt ||
			len(st.key) < minStoredKey || len(st.key) > maxStoredKey {
			t.Fatalf("parsePHC accepted out-of-bounds %+v (salt %d, key %d bytes)", p, len(st.salt), len(st.key))
		}
		if encodePHC(p, st.salt, st.key) != phc {
			t.Fatalf("accepted a non-canonical spelling %q", phc)
		}
		// Accepted hashes may cost up to 1 GiB and 20 passes, which is legal but
		// too slow to repeat thousands of times; hash only the cheap ones.
		if uint64(p.Memory)*uint64(p.Time) > 64*1024 {
			return
		}
		ok, _, err := h.Verify(context.Background(), pw, phc)
		if err != nil {
			t.Fatalf("Verify(accepted hash) error: %v", err)
		}
		if phc == cheap && ok != (norm.NFC.String(pw) == "fuzzing") {
			t.Fatalf("Verify(%q) against the seed hash of \"fuzzing\" = %v", pw, ok)
		}
	})
}
