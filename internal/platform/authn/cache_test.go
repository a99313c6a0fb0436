package authn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, e.token("RS256")); err != nil {
		t.Fatal(err)
	}
	// A key created after the cache was filled, published but not yet seen.
	fresh := genKey(t, "ES256")
	e.src.put(e.tenant, e.keys["RS256"], fresh)
	tok := sign(t, fresh, "", defaultHeaders(fresh), e.claims(e.tenant))
	unknown := sign(t, e.keys["RS256"], "", hdr{"kid": "unknown", "typ": "at+jwt"}, e.claims(e.tenant))

	// Right after a fetch, unknown kids do not fetch again.
	for range 10 {
		_, err := e.v.Verify(ctx, unknown)
		wantUnauthorized(t, err, errUnknownKey)
		_, err = e.v.Verify(ctx, tok)
		wantUnauthorized(t, err, errUnknownKey)
	}
	if n := e.src.count(e.tenant); n != 1 {
		t.Fatalf("%d fetches; want 1 (refresh rate-limited)", n)
	}
	e.clock.Advance(DefaultMinRefreshInterval - time.Millisecond)
	_, err := e.v.Verify(ctx, unknown)
	wantUnauthorized(t, err, errUnknownKey)
	if n := e.src.count(e.tenant); n != 1 {
		t.Fatalf("%d fetches before the interval; want 1", n)
	}
	// Once the interval has passed, one unknown kid refreshes, once.
	e.clock.Advance(time.Millisecond)
	for range 10 {
		_, err := e.v.Verify(ctx, unknown)
		wantUnauthorized(t, err, errUnknownKey)
	}
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
	// The refresh brought the new key in: no further fetch needed.
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("new key after refresh: %v", err)
	}
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
}

func TestNewKeyIsPickedUpByRefresh(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, e.token("RS256")); err != nil {
		t.Fatal(err)
	}
	fresh := genKey(t, "EdDSA")
	e.src.put(e.tenant, e.keys["RS256"], fresh)
	e.clock.Advance(DefaultMinRefreshInterval)
	if _, err := e.v.Verify(ctx, sign(t, fresh, "", defaultHeaders(fresh), e.claims(e.tenant))); err != nil {
		t.Fatalf("a rotated-in key must verify after one refresh: %v", err)
	}
}

func TestSingleFlight(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.src.block = release
	tokens := []string{e.token("RS256"), e.token("PS256"), e.token("ES256"), e.token("EdDSA")}

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.v.Verify(context.Background(), tokens[i%len(tokens)])
			errs <- err
		}()
	}
	// Let every goroutine reach the cache; late ones find the keys cached.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.src.count(e.tenant); got != 1 {
		t.Fatalf("%d fetches for %d concurrent verifications; want 1", got, n)
	}
}

// A caller giving up does not cancel the fetch the others share.
func TestSingleFlightSurvivesCancelledCaller(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.src.block = release
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := e.v.Verify(ctx, e.token("ES256"))
		first <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-first; !problem.Is(err, problem.KindUnavailable) {
		t.Fatalf("cancelled caller: %v", err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := e.v.Verify(context.Background(), e.token("ES256"))
		second <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := e.src.count(e.tenant); got != 1 {
		t.Fatalf("%d fetches; want 1", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxTenants = 3 })
	ctx := context.Background()
	k := e.keys["EdDSA"]
	tenants := make([]uuid.UUID, 10)
	for i := range tenants {
		tenants[i] = uuid.Must(uuid.NewV7())
		e.src.put(tenants[i], k)
		if _, err := e.v.Verify(ctx, sign(t, k, "", defaultHeaders(k), e.claims(tenants[i]))); err != nil {
			t.Fatal(err)
		}
		if n := e.v.keys.len(); n > 3 {
			t.Fatalf("%d tenants cached; bound is 3", n)
		}
	}
	// Random, nonexistent tenants do not grow it either.
	for range 100 {
		bogus := uuid.New()
		_, err := e.v.Verify(ctx, sign(t, k, "", defaultHeaders(k), e.claims(bogus)))
		wantUnauthorized(t, err, errUnknownKey)
	}
	if n := e.v.keys.len(); n != 3 {
		t.Fatalf("%d tenants cached; want 3", n)
	}
	// The bogus tenants evicted every real one: the first is fetched again,
	// once.
	for range 3 {
		if _, err := e.v.Verify(ctx, sign(t, k, "", defaultHeaders(k), e.claims(tenants[0]))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.src.count(tenants[0]); n != 2 {
		t.Fatalf("evicted tenant fetched %d times; want 2", n)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxTenants = 2 })
	ctx := context.Background()
	k := e.keys["ES256"]
	a, b, c := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for _, id := range []uuid.UUID{a, b, c} {
		e.src.put(id, k)
	}
	verify := func(id uuid.UUID) {
		t.Helper()
		if _, err := e.v.Verify(ctx, sign(t, k, "", defaultHeaders(k), e.claims(id))); err != nil {
			t.Fatal(err)
		}
	}
	verify(a)
	verify(b)
	verify(a) // a is now the most recently used
	verify(c) // evicts b
	verify(a)
	if e.src.count(a) != 1 || e.src.count(b) != 1 {
		t.Fatalf("fetches a=%d b=%d", e.src.count(a), e.src.count(b))
	}
	verify(b)
	if e.src.count(b) != 2 {
		t.Fatalf("b fetched %d times; want 2 (it was evicted)", e.src.count(b))
	}
}

func TestFetchErrorIsUnavailableWhenNothingCached(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.src.setErr(errors.New("config-vault: connection refused"))
	tok := e.token("RS256")
	_, err := e.v.Verify(ctx, tok)
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindUnavailable || pe.RetryAfter <= 0 {
		t.Fatalf("error %v; want KindUnavailable with Retry-After", err)
	}
	if p := problem.From(err, "/x"); p.Status != 503 || strings.Contains(p.Detail, "refused") {
		t.Fatalf("problem %+v", p)
	}
	// Failures are not retried before the interval.
	for range 5 {
		if _, err := e.v.Verify(ctx, tok); !problem.Is(err, problem.KindUnavailable) {
			t.Fatalf("error %v", err)
		}
	}
	if n := e.src.count(e.tenant); n != 1 {
		t.Fatalf("%d fetches; want 1", n)
	}
	e.src.setErr(nil)
	e.clock.Advance(DefaultMinRefreshInterval)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
}

func TestFetchErrorWithUsableCachedSet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("ES256")
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	e.src.setErr(errors.New("config-vault down"))
	e.clock.Advance(10 * time.Second)
	// Known kid: the cached set is within MaxAge, no fetch.
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("cached key: %v", err)
	}
	// Unknown kid: the refresh fails, the cached set still answers: 401.
	_, err := e.v.Verify(ctx, sign(t, e.keys["ES256"], "", hdr{"kid": "nope", "typ": "at+jwt"}, e.claims(e.tenant)))
	wantUnauthorized(t, err, errUnknownKey)
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("cached key after a failed refresh: %v", err)
	}
	// Past MaxAge the cached set is not used any more.
	e.clock.Advance(DefaultMaxAge)
	if _, err := e.v.Verify(ctx, tok); !problem.Is(err, problem.KindUnavailable) {
		t.Fatalf("past MaxAge with the source down: %v; want unavailable", err)
	}
}

func TestUnknownTenantIsUnauthorizedAndCached(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ghost := uuid.Must(uuid.NewV7())
	k := e.keys["RS256"]
	tok := sign(t, k, "", defaultHeaders(k), e.claims(ghost))
	for range 5 {
		_, err := e.v.Verify(ctx, tok)
		wantUnauthorized(t, err, errUnknownKey)
	}
	if n := e.src.count(ghost); n != 1 {
		t.Fatalf("%d fetches for an unknown tenant; want 1", n)
	}
}

func TestKeySourcePanicIsUnavailable(t *testing.T) {
	v, err := New(Options{
		Keys:         KeySourceFunc(func(context.Context, uuid.UUID) (jwk.Set, error) { panic("boom") }),
		Audience:     testAudience,
		IssuerPrefix: testPrefix,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.v = v
	if _, err := v.Verify(context.Background(), e.token("RS256")); !problem.Is(err, problem.KindUnavailable) {
		t.Fatalf("error %v", err)
	}
}

// TestIndexKeepsOnlyUsableKeys: what a JWKS may hold besides good keys.
func TestIndexKeepsOnlyUsableKeys(t *testing.T) {
	ks := testKeys(t)
	clone := func(k *testKey, changes map[string]any) jwk.Key {
		c, err := k.pub.Clone()
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range changes {
			if v == nil {
				_ = c.Remove(name)
			} else if err := c.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	private, err := jwk.FromRaw(ks["ES256"].priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = private.Set(jwk.KeyIDKey, "private")
	_ = private.Set(jwk.AlgorithmKey, "ES256")
	oct, err := jwk.FromRaw([]byte("a shared secret of sufficient length!"))
	if err != nil {
		t.Fatal(err)
	}
	_ = oct.Set(jwk.KeyIDKey, "oct")
	_ = oct.Set(jwk.AlgorithmKey, "HS256")

	set := jwk.NewSet()
	for _, k := range []jwk.Key{
		ks["RS256"].pub, ks["EdDSA"].pub, // good
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "no-alg", jwk.AlgorithmKey: nil}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "enc", jwk.KeyUsageKey: "enc"}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "wrong-alg", jwk.AlgorithmKey: "RS256"}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "rs384", jwk.AlgorithmKey: "ES384"}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "sign-only", jwk.KeyOpsKey: jwk.KeyOperationList{jwk.KeyOpSign}}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: "dup"}),
		clone(ks["other-ES256"], map[string]any{jwk.KeyIDKey: "dup"}),
		clone(ks["ES256"], map[string]any{jwk.KeyIDKey: nil}),
		private, oct,
	} {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	got := index(set)
	if len(got) != 2 || got[ks["RS256"].kid].alg.name != "RS256" || got[ks["EdDSA"].kid].alg.name != "EdDSA" {
		names := []string{}
		for kid := range got {
			names = append(names, kid)
		}
		t.Fatalf("indexed %v", names)
	}
}

func TestJWKSSource(t *testing.T) {
	ks := testKeys(t)
	set := jwk.NewSet()
	_ = set.AddKey(ks["ES256"].pub)
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	tenant := uuid.Must(uuid.NewV7())
	var asked uuid.UUID
	src := JWKSSource(func(_ context.Context, id uuid.UUID) ([]byte, error) {
		asked = id
		return doc, nil
	})
	got, err := src.TenantKeys(context.Background(), tenant)
	if err != nil || asked != tenant || got.Len() != 1 {
		t.Fatalf("TenantKeys: %v, asked %s, %d keys", err, asked, got.Len())
	}
	if _, ok := index(got)[ks["ES256"].kid]; !ok {
		t.Fatal("the parsed key is not usable")
	}
	bad := JWKSSource(func(context.Context, uuid.UUID) ([]byte, error) { return []byte("not json"), nil })
	if _, err := bad.TenantKeys(context.Background(), tenant); err == nil {
		t.Fatal("a broken document parsed")
	}
	nf := JWKSSource(func(context.Context, uuid.UUID) ([]byte, error) { return nil, problem.NotFound("no tenant") })
	if _, err := nf.TenantKeys(context.Background(), tenant); !problem.Is(err, problem.KindNotFound) {
		t.Fatalf("not found: %v", err)
	}
}
