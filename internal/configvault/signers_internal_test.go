package configvault

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A lookup that read the database before a change and stores its answer
// after the change was dropped must not bring the retired key back; entries
// go stale after the TTL and never serve a key expiring too soon.
func TestActiveKeyCacheRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newActiveKeyCache(2*time.Second, func() time.Time { return now })
	tenant, site := uuid.New(), uuid.New()
	o, so := tenantOwner(tenant), tenantSiteOwner(tenant, site)
	k := &sealedKey{SigningKey: SigningKey{ID: uuid.New(), TenantID: tenant, ExpiresAt: now.Add(time.Hour)}}

	_, gen := c.get(o, nil)
	c.forgetOwned(&tenant, nil) // a revoke answered meanwhile
	c.put(o, k, gen)
	if got, _ := c.get(o, nil); got != nil {
		t.Fatal("a choice read before an invalidation was cached after it")
	}

	_, gen = c.get(o, nil)
	c.put(o, k, gen)
	c.put(so, k, gen)
	if got, _ := c.get(o, nil); got != k {
		t.Fatal("a fresh choice was not cached")
	}
	if got, _ := c.get(o, ptrTo(now.Add(2*time.Hour))); got != nil {
		t.Fatal("a cached key expiring before the token's end was used")
	}
	c.forgetOwned(nil, &site)
	if got, _ := c.get(so, nil); got != nil {
		t.Fatal("a site's choice survived the site's change")
	}
	if got, _ := c.get(o, nil); got != k {
		t.Fatal("the tenant's choice went with one site's change")
	}
	now = now.Add(2 * time.Second)
	if got, _ := c.get(o, nil); got != nil {
		t.Fatal("a choice was used past the TTL")
	}
}

func ptrTo[T any](v T) *T { return &v }
