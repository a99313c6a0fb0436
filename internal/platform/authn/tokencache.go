package authn

import (
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultTokenCacheSize is the default of Options.TokenCacheSize.
const DefaultTokenCacheSize = 4096

// tokenCache remembers access tokens that verified, by the SHA-256 of the
// whole token, so that a client sending the same token again and again (the
// common case: a token lasts minutes) costs a hash and a map lookup instead
// of a signature verification (an ES256 verification is about 70 µs of CPU,
// RS256 50 µs; under load it was half of an authenticated read).
//
// A remembered token counts as verified only while the verification would
// still succeed: before its exp, and while the key set its key came from is
// still the tenant's cached set, unchanged and younger than MaxAge. So a key
// removed from the JWKS (revoked) stops its tokens exactly when it would
// without this cache: at the next fetch of the set, at most MaxAge later.
// Claims other than exp (iat, nbf) only become more valid with time. Only
// successes are kept: a failure is verified afresh each time.
type tokenCache struct {
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*verifiedToken
}

type verifiedToken struct {
	claims Claims
	keys   keySetStamp // the set whose key verified it
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, entries: make(map[[sha256.Size]byte]*verifiedToken)}
}

// get returns the claims of the token whose hash is sum if it verified
// before and would verify now. A nil cache has nothing.
func (c *tokenCache) get(sum [sha256.Size]byte, now time.Time, keys *keyCache) (Claims, bool) {
	if c == nil {
		return Claims{}, false
	}
	c.mu.Lock()
	t, ok := c.entries[sum]
	c.mu.Unlock()
	if !ok {
		return Claims{}, false
	}
	if !now.Before(t.claims.ExpiresAt) || !keys.current(t.keys, now) {
		c.mu.Lock()
		if c.entries[sum] == t {
			delete(c.entries, sum)
		}
		c.mu.Unlock()
		return Claims{}, false
	}
	return t.claims.clone(), true
}

// put remembers a verified token. When full, it first drops the entries
// past their exp and then, if that was not enough, a quarter of the others
// (in the map's random order): a cache miss only costs a verification.
func (c *tokenCache) put(sum [sha256.Size]byte, claims Claims, keys keySetStamp, now time.Time) {
	if c == nil {
		return
	}
	t := &verifiedToken{claims: claims.clone(), keys: keys}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		maps.DeleteFunc(c.entries, func(_ [sha256.Size]byte, t *verifiedToken) bool { return !now.Before(t.claims.ExpiresAt) })
		for k := range c.entries {
			if len(c.entries) < c.max*3/4 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[sum] = t
}

// len is the number of remembered tokens.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// clone copies what a caller could change in place (slices, the map, the
// user id), so that no request changes the claims another one gets.
func (c Claims) clone() Claims {
	if c.UserID != nil {
		id := *c.UserID
		c.UserID = &id
	}
	c.Audience = slices.Clone(c.Audience)
	c.Scopes = slices.Clone(c.Scopes)
	c.Roles = slices.Clone(c.Roles)
	if c.SiteScopes != nil {
		sites := make(map[uuid.UUID][]string, len(c.SiteScopes))
		for site, scopes := range c.SiteScopes {
			sites[site] = slices.Clone(scopes)
		}
		c.SiteScopes = sites
	}
	return c
}
