package uam

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/svcclient"
)

// Directory answers what UAM needs to know about tenants and sites, which
// Config Vault owns.
type Directory interface {
	// TenantExists returns nil, a not-found problem, or an unavailable one.
	TenantExists(ctx context.Context, tenantID uuid.UUID) error
	// SiteTenant returns the tenant a site belongs to, or a not-found problem.
	SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error)
}

// ConfigVault is the Directory over Config Vault's generated client. Answers
// that something exists are cached for a short while: every tenant-scoped
// request asks, and tenants and sites are created far more often than they
// are deleted. A deleted tenant may thus still be seen for up to the TTL.
// Not-found answers are never cached, so a tenant is usable as soon as it exists.
type ConfigVault struct {
	client *cvclient.ClientWithResponses
	ttl    time.Duration

	mu      sync.Mutex
	tenants map[uuid.UUID]time.Time  // tenant -> cached until
	sites   map[uuid.UUID]cachedSite // site -> owner
	now     func() time.Time
}

type cachedSite struct {
	tenant uuid.UUID
	until  time.Time
}

// maxCached bounds each cache; when full it starts over rather than tracking use.
const maxCached = 10_000

// NewConfigVault wraps a Config Vault client; ttl bounds how long a positive
// answer is reused.
func NewConfigVault(client *cvclient.ClientWithResponses, ttl time.Duration) *ConfigVault {
	return &ConfigVault{client: client, ttl: ttl, tenants: map[uuid.UUID]time.Time{},
		sites: map[uuid.UUID]cachedSite{}, now: time.Now}
}

func (c *ConfigVault) TenantExists(ctx context.Context, tenantID uuid.UUID) error {
	c.mu.Lock()
	until, ok := c.tenants[tenantID]
	c.mu.Unlock()
	if ok && c.now().Before(until) {
		return nil
	}
	resp, err := c.client.GetTenantWithResponse(ctx, tenantID)
	if err != nil {
		return unavailable(ctx, err)
	}
	switch resp.StatusCode() {
	case http.StatusOK:
		c.mu.Lock()
		if len(c.tenants) >= maxCached {
			clear(c.tenants)
		}
		c.tenants[tenantID] = c.now().Add(c.ttl)
		c.mu.Unlock()
		return nil
	case http.StatusNotFound:
		return problem.NotFound("tenant %s not found", tenantID)
	}
	return unavailable(ctx, statusError(resp.StatusCode()))
}

func (c *ConfigVault) SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error) {
	c.mu.Lock()
	s, ok := c.sites[siteID]
	c.mu.Unlock()
	if ok && c.now().Before(s.until) {
		return s.tenant, nil
	}
	resp, err := c.client.GetSiteWithResponse(ctx, siteID)
	if err != nil {
		return uuid.Nil, unavailable(ctx, err)
	}
	switch {
	case resp.StatusCode() == http.StatusOK && resp.JSON200 != nil:
		c.mu.Lock()
		if len(c.sites) >= maxCached {
			clear(c.sites)
		}
		c.sites[siteID] = cachedSite{tenant: resp.JSON200.TenantId, until: c.now().Add(c.ttl)}
		c.mu.Unlock()
		return resp.JSON200.TenantId, nil
	case resp.StatusCode() == http.StatusNotFound:
		return uuid.Nil, problem.NotFound("site %s not found", siteID)
	}
	return uuid.Nil, unavailable(ctx, statusError(resp.StatusCode()))
}

type statusError int

func (s statusError) Error() string { return "config-vault answered " + http.StatusText(int(s)) }

// unavailable keeps the cause for the log and tells the client to retry; a
// cancelled request stays a cancellation.
func unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return svcclient.Unavailable(err)
}
