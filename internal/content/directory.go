package content

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/svcclient"
	"github.com/saasplatform/saas/internal/platform/ttlcache"
)

// Directory answers which tenant a site belongs to; Config Vault owns sites.
type Directory interface {
	// SiteTenant returns the tenant a site belongs to, a not-found problem,
	// or an unavailable one.
	SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error)
}

// ConfigVault is the Directory over Config Vault's generated client. Owners
// are cached for a short while (ttlcache), since every request asks and a
// site never changes tenant: a deleted site may thus still be seen for up to
// the TTL; a new one is usable at once.
type ConfigVault struct {
	client *cvclient.ClientWithResponses
	sites  *ttlcache.Cache[uuid.UUID, uuid.UUID] // site -> owner
}

// NewConfigVault wraps a Config Vault client (authenticated as the content
// service, whose credential may read sites of every tenant); ttl bounds how
// long an answer is reused.
func NewConfigVault(client *cvclient.ClientWithResponses, ttl time.Duration) *ConfigVault {
	return &ConfigVault{client: client, sites: ttlcache.New[uuid.UUID, uuid.UUID](ttl)}
}

func (c *ConfigVault) SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error) {
	return c.sites.Get(ctx, siteID, func(ctx context.Context) (uuid.UUID, error) {
		resp, err := c.client.GetSiteWithResponse(ctx, siteID)
		switch {
		case err != nil:
			return uuid.Nil, svcclient.Failure(ctx, err)
		case resp.StatusCode() == http.StatusOK && resp.JSON200 != nil:
			return resp.JSON200.TenantId, nil
		case svcclient.NotFound(resp.HTTPResponse):
			return uuid.Nil, siteNotFound(siteID)
		}
		return uuid.Nil, svcclient.Failure(ctx, svcclient.StatusError(resp.StatusCode()))
	})
}

// siteNotFound is the one answer for a site that does not exist and for one
// of another tenant, so that site ids leak nothing.
func siteNotFound(siteID uuid.UUID) error {
	return problem.NotFound("site %s not found", siteID)
}
