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
// The cache decides nothing about whether a key may sign: SignToken reads the
// key's state from the database on every call and asks the cache only for a
// key that is active now. Entries of keys that stop signing here (deactivated,
// revoked, deleted, with their site or tenant) are dropped at once, to keep
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
