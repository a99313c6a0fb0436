package content

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

// Directory answers which tenant a site belongs to; Config Vault owns sites.
type Directory interface {
	// SiteTenant returns the tenant a site belongs to, a not-found problem,
	// or an unavailable one.
	SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error)
}

// ConfigVault is the Directory over Config Vault's generated client. Owners
// are cached for a short while, since every request asks and a site never
// changes tenant: a deleted site may thus still be seen for up to the TTL.
// Not-found answers are never cached, so a site is usable as soon as it exists.
type ConfigVault struct {
	client *cvclient.ClientWithResponses
	ttl    time.Duration

	mu    sync.Mutex
	sites map[uuid.UUID]cachedSite
	now   func() time.Time
}

type cachedSite struct {
	tenant uuid.UUID
	until  time.Time
}

// maxCached bounds the cache; when full it starts over rather than tracking use.
const maxCached = 10_000

// NewConfigVault wraps a Config Vault client (authenticated as the content
// service, whose credential may read sites of every tenant); ttl bounds how
// long an answer is reused.
func NewConfigVault(client *cvclient.ClientWithResponses, ttl time.Duration) *ConfigVault {
	return &ConfigVault{client: client, ttl: ttl, sites: map[uuid.UUID]cachedSite{}, now: time.Now}
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
	case resp.StatusCode() == http.StatusNotFound &&
		resp.HTTPResponse.Header.Get("Content-Type") == "application/problem+json":
		// Only Config Vault's own answer says the site does not exist: a 404
		// from something else on the way (a misrouted SAAS_CONFIG_VAULT_URL)
		// is an outage.
		return uuid.Nil, siteNotFound(siteID)
	}
	return uuid.Nil, unavailable(ctx, statusError(resp.StatusCode()))
}

// siteNotFound is the one answer for a site that does not exist and for one
// of another tenant, so that site ids leak nothing.
func siteNotFound(siteID uuid.UUID) error {
	return problem.NotFound("site %s not found", siteID)
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
