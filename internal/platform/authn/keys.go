package authn

import (
	"container/list"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// KeySource fetches a tenant's published key set. Return an error of
// problem.KindNotFound for a tenant that does not exist: that is cached like
// an empty set (its tokens are refused with 401). Any other error means the
// keys are unavailable for now (503 unless a usable set is cached).
type KeySource interface {
	TenantKeys(ctx context.Context, tenantID uuid.UUID) (jwk.Set, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context, tenantID uuid.UUID) (jwk.Set, error)

// TenantKeys calls f.
func (f KeySourceFunc) TenantKeys(ctx context.Context, tenantID uuid.UUID) (jwk.Set, error) {
	return f(ctx, tenantID)
}

// JWKSSource adapts a function returning a tenant's JWKS document, the body
// of Config Vault's GET /config-vault/v1/tenants/{tenant_id}/jwks.json, to
// KeySource. Wiring it to the generated client is a few lines:
//
//	authn.JWKSSource(func(ctx context.Context, t uuid.UUID) ([]byte, error) {
//		res, err := client.GetTenantJWKSWithResponse(ctx, t)
//		... // 404 → problem.NotFound(...), other non-200 → error
//		return res.Body, nil
//	})
func JWKSSource(fetch func(ctx context.Context, tenantID uuid.UUID) ([]byte, error)) KeySource {
	return KeySourceFunc(func(ctx context.Context, tenantID uuid.UUID) (jwk.Set, error) {
		doc, err := fetch(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		set, err := jwk.Parse(doc)
		if err != nil {
			return nil, fmt.Errorf("authn: tenant %s: JWKS: %w", tenantID, err)
		}
		return set, nil
	})
}

// algorithm is one allowed signature algorithm. The set is closed: RS256,
// PS256, ES256 and EdDSA. Never none, never HMAC.
type algorithm struct {
	name     string
	verifier jws.Verifier
	// accepts reports whether a raw public key is of the right kind.
	accepts func(pub any) bool
}

var algorithms = func() map[string]*algorithm {
	rsaKey := func(pub any) bool {
		k, ok := pub.(*rsa.PublicKey)
		return ok && k.N.BitLen() >= 2048
	}
	table := map[string]*algorithm{
		"RS256": {accepts: rsaKey},
		"PS256": {accepts: rsaKey},
		"ES256": {accepts: func(pub any) bool {
			k, ok := pub.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P256()
		}},
		"EdDSA": {accepts: func(pub any) bool {
			k, ok := pub.(ed25519.PublicKey)
			return ok && len(k) == ed25519.PublicKeySize
		}},
	}
	for name, a := range table {
		v, err := jws.NewVerifier(jwa.SignatureAlgorithm(name))
		if err != nil {
			panic(fmt.Sprintf("authn: jwx has no verifier for %s: %v", name, err))
		}
		a.name, a.verifier = name, v
	}
	return table
}()

// verifyKey is a published key ready for use.
type verifyKey struct {
	alg *algorithm
	pub any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// index keeps the keys of set that may verify access tokens: with a kid, an
// allowed alg that fits the key type, use "sig" (or none), key_ops including
// "verify" (or none), and public. Private or symmetric keys are never used,
// even if published by mistake. A kid that appears twice is dropped: which
// key it means is ambiguous.
func index(set jwk.Set) map[string]verifyKey {
	keys := make(map[string]verifyKey)
	if set == nil {
		return keys
	}
	dup := make(map[string]bool)
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		kid := k.KeyID()
		if kid == "" || dup[kid] {
			continue
		}
		if _, seen := keys[kid]; seen {
			delete(keys, kid)
			dup[kid] = true
			continue
		}
		vk, ok := usable(k)
		if !ok {
			continue
		}
		keys[kid] = vk
	}
	return keys
}

func usable(k jwk.Key) (verifyKey, bool) {
	if k.Algorithm() == nil {
		return verifyKey{}, false
	}
	alg, ok := algorithms[k.Algorithm().String()]
	if !ok {
		return verifyKey{}, false
	}
	if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
		return verifyKey{}, false
	}
	if ops := k.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return verifyKey{}, false
	}
	var raw any
	if err := k.Raw(&raw); err != nil || !alg.accepts(raw) {
		return verifyKey{}, false // also every private or symmetric key
	}
	return verifyKey{alg: alg, pub: raw}, true
}

// keyCache holds the key sets of up to max tenants, least recently used
// evicted first.
type keyCache struct {
	src          KeySource
	now          func() time.Time
	maxAge       time.Duration
	minRefresh   time.Duration
	fetchTimeout time.Duration
	max          int

	mu      sync.Mutex
	entries map[uuid.UUID]*list.Element // of *tenantKeys
	lru     list.List                   // front: most recently used
}

// tenantKeys is one tenant's cached key set.
type tenantKeys struct {
	tenant uuid.UUID

	mu        sync.Mutex
	keys      map[string]verifyKey
	fetchedAt time.Time     // when the last successful fetch started; zero: never
	gen       uint64        // counts successful fetches: which set keys is
	attemptAt time.Time     // when the last fetch started
	err       error         // the last fetch's error, nil if it succeeded
	done      chan struct{} // non-nil while a fetch runs; closed when it ends
}

func (c *keyCache) entry(tenant uuid.UUID) *tenantKeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[tenant]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*tenantKeys)
	}
	if c.entries == nil {
		c.entries = make(map[uuid.UUID]*list.Element)
	}
	e := &tenantKeys{tenant: tenant}
	c.entries[tenant] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*tenantKeys).tenant)
	}
	return e
}

// len is the number of cached tenants.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// keySetStamp names one fetch of a tenant's key set: the set a key came from.
type keySetStamp struct {
	entry     *tenantKeys
	gen       uint64
	fetchedAt time.Time
}

// current reports whether the stamp's set is still the tenant's cached set
// (neither fetched again nor evicted since) and is younger than maxAge at
// now: whether a key found in it would still be used as it is.
func (c *keyCache) current(st keySetStamp, now time.Time) bool {
	c.mu.Lock()
	el, ok := c.entries[st.entry.tenant]
	if ok && el.Value.(*tenantKeys) == st.entry {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok || el.Value.(*tenantKeys) != st.entry {
		return false
	}
	st.entry.mu.Lock()
	defer st.entry.mu.Unlock()
	return st.entry.gen == st.gen && now.Sub(st.fetchedAt) < c.maxAge
}

// key returns the tenant's key kid and the set it is from. A set younger than
// maxAge is used as is; an older one is fetched again. An unknown kid fetches
// again if the last fetch is at least minRefresh old. One fetch per tenant
// runs at a time and every caller waiting for that tenant shares it; a failed
// fetch is not retried for minRefresh either.
func (c *keyCache) key(ctx context.Context, tenant uuid.UUID, kid string) (verifyKey, keySetStamp, error) {
	e := c.entry(tenant)
	waited := false
	for {
		e.mu.Lock()
		now := c.now()
		usable := !e.fetchedAt.IsZero() && now.Sub(e.fetchedAt) < c.maxAge
		if usable {
			if k, ok := e.keys[kid]; ok {
				st := keySetStamp{e, e.gen, e.fetchedAt}
				e.mu.Unlock()
				return k, st, nil
			}
		}
		if e.done == nil {
			recent := now.Sub(e.attemptAt) < c.minRefresh
			switch {
			case waited || (recent && (usable || e.err != nil)):
				// Either this call has had its fetch, or one just ran.
				err := e.err
				e.mu.Unlock()
				if usable || err == nil {
					return verifyKey{}, keySetStamp{}, fmt.Errorf("%w: tenant %s, kid %s", errUnknownKey, tenant, short(kid))
				}
				return verifyKey{}, keySetStamp{}, unavailable(fmt.Errorf("authn: tenant %s key set: %w", tenant, err), c.minRefresh)
			}
			e.done = make(chan struct{})
			e.attemptAt = now
			go c.fetch(ctx, e, now, e.done)
		}
		done := e.done
		e.mu.Unlock()
		select {
		case <-done:
			waited = true
		case <-ctx.Done():
			return verifyKey{}, keySetStamp{}, unavailable(ctx.Err(), 0)
		}
	}
}

// fetch loads e's key set in its own goroutine, so that a caller giving up
// does not cancel the fetch the others wait for.
func (c *keyCache) fetch(ctx context.Context, e *tenantKeys, started time.Time, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
	defer cancel()
	keys, err := c.load(ctx, e.tenant)
	e.mu.Lock()
	if err == nil {
		e.keys, e.fetchedAt, e.err = keys, started, nil
		e.gen++
	} else {
		e.err = err
	}
	e.done = nil
	e.mu.Unlock()
	close(done)
}

func (c *keyCache) load(ctx context.Context, tenant uuid.UUID) (keys map[string]verifyKey, err error) {
	defer func() {
		if p := recover(); p != nil {
			keys, err = nil, fmt.Errorf("authn: key source panicked: %v", p)
		}
	}()
	set, err := c.src.TenantKeys(ctx, tenant)
	switch {
	case problem.Is(err, problem.KindNotFound):
		return map[string]verifyKey{}, nil
	case err != nil:
		return nil, err
	}
	return index(set), nil
}
