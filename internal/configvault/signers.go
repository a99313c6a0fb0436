package configvault

import (
	"crypto"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

const (
	// maxCachedSigners bounds the opened signers kept in memory: one per key
	// that signed lately, so about one per tenant that is signing in.
	maxCachedSigners = 1024
	// signerIdleTTL is how long an opened signer that signs nothing stays in
	// memory (it is dropped when the cache next makes room).
	signerIdleTTL = 15 * time.Minute
)

// signerCache keeps the signers that keycrypto.Keyring.OpenSigner opened, by
// key id and version, so that signing a token does not decrypt and parse a
// private key every time (for RSA the parse alone costs more than signing).
//
// The cache decides nothing about whether a key may sign: SignToken asks it
// only for a key its active-key query chose (or activeKeyCache kept, for at
// most activeKeyTTL and never past a change made through this process).
// Entries of keys that stop signing here (deactivated, revoked, deleted, with
// their site or tenant) are dropped at once, to keep
// private keys in memory no longer than they are used; those changed by
// another replica go when they are idle or crowded out.
type signerCache struct {
	mu      sync.RWMutex
	entries map[uuid.UUID]*cachedSigner
	max     int
	opened  atomic.Int64 // how many keys were opened, for tests
}

type cachedSigner struct {
	version  int64
	tenantID uuid.UUID
	siteID   *uuid.UUID
	signer   crypto.Signer
	lastUsed atomic.Int64 // UnixNano
}

func newSignerCache(max int) *signerCache {
	return &signerCache{entries: map[uuid.UUID]*cachedSigner{}, max: max}
}

// get returns the signer of k, an active key just read from the database,
// opening its sealed private key through the keyring unless this version of
// it is cached.
func (c *signerCache) get(k *sealedKey, kr *keycrypto.Keyring) (crypto.Signer, error) {
	c.mu.RLock()
	e := c.entries[k.ID]
	c.mu.RUnlock()
	if e != nil && e.version == k.Version {
		e.lastUsed.Store(time.Now().UnixNano())
		return e.signer, nil
	}
	signer, err := kr.OpenSigner(k.ciphertext, k.masterKeyID, k.ID[:], k.Algorithm)
	if err != nil {
		// The error names the key and the failing step, never key material.
		return nil, fmt.Errorf("configvault: opening signing key %s: %w", k.ID, err)
	}
	c.opened.Add(1)
	return c.put(k, signer), nil
}

// put caches signer as the one of k and returns it.
func (c *signerCache) put(k *sealedKey, signer crypto.Signer) crypto.Signer {
	e := &cachedSigner{version: k.Version, tenantID: k.TenantID, siteID: k.SiteID, signer: signer}
	now := time.Now()
	e.lastUsed.Store(now.UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k.ID]; !ok && len(c.entries) >= c.max {
		c.makeRoomLocked(now)
	}
	c.entries[k.ID] = e
	return signer
}

// makeRoomLocked drops the idle entries and, if none was, the least recently
// used one. It scans every entry, which only a key opened anew pays for.
func (c *signerCache) makeRoomLocked(now time.Time) {
	idle := now.Add(-signerIdleTTL).UnixNano()
	var lru uuid.UUID
	oldest := int64(0)
	dropped := false
	for id, e := range c.entries {
		used := e.lastUsed.Load()
		if used < idle {
			delete(c.entries, id)
			dropped = true
			continue
		}
		if oldest == 0 || used < oldest {
			lru, oldest = id, used
		}
	}
	if !dropped && oldest != 0 {
		delete(c.entries, lru)
	}
}

// forget drops the signer of one key.
func (c *signerCache) forget(id uuid.UUID) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

// forgetOwned drops the signers of a tenant's keys, or of one site's keys
// when siteID is set.
func (c *signerCache) forgetOwned(tenantID *uuid.UUID, siteID *uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.entries {
		if (tenantID != nil && e.tenantID == *tenantID) || (siteID != nil && e.siteID != nil && *e.siteID == *siteID) {
			delete(c.entries, id)
		}
	}
}

// len is how many signers are cached, for tests.
func (c *signerCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// activeKeyTTL is how long SignToken reuses the key it chose for an owner
// without asking the database again. Every change of a key, a tenant or a
// site made through this process drops the affected choices at once, so here
// a revoked or deactivated key never signs after the request that revoked it
// has been answered. A change made by another replica is seen here within
// this TTL: that is the bound, with several replicas, on how long a key
// revoked elsewhere may still sign (and on how late a key newly eligible by
// the "published for a minute" rule starts signing).
const activeKeyTTL = 2 * time.Second

// maxCachedActiveKeys bounds the active-key cache; when full it starts over.
const maxCachedActiveKeys = 10_000

// activeKeyOwner is the cache key: a tenant, or a site of a tenant.
type activeKeyOwner struct{ tenant, site uuid.UUID }

type cachedActiveKey struct {
	key   *sealedKey
	until int64 // UnixNano
}

// activeKeyCache remembers, per owner, the key SignToken's query chose, for
// activeKeyTTL. Invalidation bumps a generation so that a lookup that read
// the database before a change and stores after it cannot bring back the
// key the change retired: put keeps an entry only if no invalidation
// happened since the caller's begin.
type activeKeyCache struct {
	mu      sync.RWMutex
	entries map[activeKeyOwner]cachedActiveKey
	gen     uint64
	ttl     time.Duration
	now     func() time.Time
}

func newActiveKeyCache(ttl time.Duration, now func() time.Time) *activeKeyCache {
	return &activeKeyCache{entries: map[activeKeyOwner]cachedActiveKey{}, ttl: ttl, now: now}
}

func ownerOf(o keyOwner) (activeKeyOwner, bool) {
	if o.tenantID == nil {
		return activeKeyOwner{}, false // only SignToken's owners, which always name the tenant
	}
	k := activeKeyOwner{tenant: *o.tenantID}
	if o.siteID != nil {
		k.site = *o.siteID
	}
	return k, true
}

// get returns the cached key of the owner if it is still fresh and stays
// unexpired until validUntil (when given), plus the generation to hand to
// put after a miss.
func (c *activeKeyCache) get(o keyOwner, validUntil *time.Time) (*sealedKey, uint64) {
	owner, ok := ownerOf(o)
	c.mu.RLock()
	e, hit := c.entries[owner]
	gen := c.gen
	c.mu.RUnlock()
	if !ok || !hit {
		return nil, gen
	}
	now := c.now()
	if now.UnixNano() >= e.until || !e.key.ExpiresAt.After(now) ||
		(validUntil != nil && e.key.ExpiresAt.Before(*validUntil)) {
		return nil, gen
	}
	return e.key, gen
}

// put caches k as the owner's key unless something was invalidated since gen.
func (c *activeKeyCache) put(o keyOwner, k *sealedKey, gen uint64) {
	owner, ok := ownerOf(o)
	if !ok {
		return
	}
	until := c.now().Add(c.ttl).UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCachedActiveKeys {
		clear(c.entries)
	}
	c.entries[owner] = cachedActiveKey{key: k, until: until}
}

// forgetOwned drops the choices of a tenant's owners (its own and its
// sites'), or of one site when siteID is set; both nil drops everything.
func (c *activeKeyCache) forgetOwned(tenantID, siteID *uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if tenantID == nil && siteID == nil {
		clear(c.entries)
		return
	}
	for o := range c.entries {
		if (tenantID != nil && o.tenant == *tenantID) || (siteID != nil && o.site == *siteID) {
			delete(c.entries, o)
		}
	}
}

// len is how many owners have a cached key, for tests.
func (c *activeKeyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
