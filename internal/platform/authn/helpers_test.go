package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/saasplatform/saas/internal/platform/problem"
)

const (
	testBase     = "https://saas.test"
	testAudience = "https://saas.test"
)

var testPrefix = DefaultIssuerPrefix(testBase)

// testKey is a key pair with its public JWK as Config Vault publishes it.
type testKey struct {
	alg  string
	kid  string
	priv crypto.Signer
	pub  jwk.Key
}

func genKey(tb testing.TB, alg string) *testKey {
	tb.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("no key type for %s", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := jwk.FromRaw(priv.Public())
	if err != nil {
		tb.Fatal(err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	return &testKey{alg: alg, kid: kid, priv: priv, pub: pub}
}

// Keys are generated once: RSA generation takes about 0.1 s each.
var (
	keysOnce sync.Once
	keys     map[string]*testKey // "RS256", "PS256", "ES256", "EdDSA", "other-RS256", "attacker"
)

func testKeys(tb testing.TB) map[string]*testKey {
	keysOnce.Do(func() {
		keys = map[string]*testKey{}
		for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
			keys[alg] = genKey(tb, alg)
		}
		keys["other-RS256"] = genKey(tb, "RS256")
		keys["other-ES256"] = genKey(tb, "ES256")
		keys["attacker"] = genKey(tb, "RS256")
	})
	return keys
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_900_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSource is a KeySource over an in-memory map that counts fetches.
type fakeSource struct {
	mu      sync.Mutex
	sets    map[uuid.UUID][]jwk.Key
	err     error
	block   chan struct{} // if set, fetches wait for it to close
	fetches map[uuid.UUID]int
	total   atomic.Int64
}

func newSource() *fakeSource {
	return &fakeSource{sets: map[uuid.UUID][]jwk.Key{}, fetches: map[uuid.UUID]int{}}
}

func (s *fakeSource) TenantKeys(ctx context.Context, tenant uuid.UUID) (jwk.Set, error) {
	s.total.Add(1)
	s.mu.Lock()
	s.fetches[tenant]++
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	list, ok := s.sets[tenant]
	if !ok {
		return nil, problem.NotFound("no tenant %s", tenant)
	}
	set := jwk.NewSet()
	for _, k := range list {
		if err := set.AddKey(k); err != nil {
			return nil, err
		}
	}
	return set, nil
}

func (s *fakeSource) put(tenant uuid.UUID, ks ...*testKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets[tenant] = nil
	for _, k := range ks {
		s.sets[tenant] = append(s.sets[tenant], k.pub)
	}
}

func (s *fakeSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeSource) count(tenant uuid.UUID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches[tenant]
}

// env is a verifier over a fake source and clock, with one tenant whose
// JWKS holds every test key but the "other" and attacker ones.
type env struct {
	t      testing.TB
	clock  *fakeClock
	src    *fakeSource
	v      *Verifier
	tenant uuid.UUID
	keys   map[string]*testKey
}

func newEnv(tb testing.TB, opt ...func(*Options)) *env {
	tb.Helper()
	ks := testKeys(tb)
	e := &env{t: tb, clock: newClock(), src: newSource(), tenant: uuid.Must(uuid.NewV7()), keys: ks}
	e.src.put(e.tenant, ks["RS256"], ks["PS256"], ks["ES256"], ks["EdDSA"])
	opts := Options{Keys: e.src, Audience: testAudience, IssuerPrefix: testPrefix, Now: e.clock.Now}
	for _, o := range opt {
		o(&opts)
	}
	v, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	e.v = v
	return e
}

var (
	testUser = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b")
	testSite = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-00000000aaaa")
)

// claims are valid claims of a user's token in tenant.
func (e *env) claims(tenant uuid.UUID) map[string]any {
	now := e.clock.Now().Unix()
	return map[string]any{
		"iss":       testPrefix + tenant.String(),
		"sub":       testUser.String(),
		"sub_type":  "user",
		"client_id": "console",
		"aud":       testAudience,
		"exp":       now + 900,
		"iat":       now,
		"nbf":       now,
		"jti":       uuid.NewString(),
		"tenant_id": tenant.String(),
		"scope":     "users:read content:read",
		"site_scope": map[string]string{
			testSite.String(): "content:write content:publish",
		},
		"roles": []string{"editor"},
	}
}

// with returns a copy of m with the changes; a nil value deletes the member.
func with(m map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// hdr lists protected headers beyond alg; a nil value leaves the header out.
type hdr map[string]any

func defaultHeaders(k *testKey) hdr { return hdr{"kid": k.kid, "typ": "at+jwt"} }

// sign signs claims with key k under alg (k.alg if empty) and the headers.
func sign(tb testing.TB, k *testKey, alg string, headers hdr, claims map[string]any) string {
	tb.Helper()
	if alg == "" {
		alg = k.alg
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	h := jws.NewHeaders()
	for name, v := range headers {
		if v == nil {
			continue
		}
		if err := h.Set(name, v); err != nil {
			tb.Fatalf("header %s: %v", name, err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), k.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(tok)
}

// token is a valid token of e's tenant signed with e.keys[alg].
func (e *env) token(alg string) string {
	k := e.keys[alg]
	return sign(e.t, k, "", defaultHeaders(k), e.claims(e.tenant))
}

// rawToken assembles a token from JSON header and payload and a signature
// made by signFn over the signing input (nil: an empty signature).
func rawToken(header, payload any, signFn func(input []byte) []byte) string {
	hb, _ := json.Marshal(header)
	pb, _ := json.Marshal(payload)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	var sig []byte
	if signFn != nil {
		sig = signFn([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// wantUnauthorized asserts err is the generic 401 and, if reason is not nil,
// that the cause is reason.
func wantUnauthorized(tb testing.TB, err error, reason error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("verified; want 401")
	}
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindUnauthorized {
		tb.Fatalf("error %v (%T) is not KindUnauthorized", err, err)
	}
	if pe.Detail != InvalidTokenDetail {
		tb.Fatalf("detail %q leaks more than the generic one", pe.Detail)
	}
	if p := problem.From(err, "/x"); p.Status != 401 || p.Detail != InvalidTokenDetail {
		tb.Fatalf("problem %+v", p)
	}
	if reason != nil && !errors.Is(err, reason) {
		tb.Fatalf("refused for %v; want %v", err, reason)
	}
}
