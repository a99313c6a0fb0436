package uam

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

// Directory answers what UAM needs to know about tenants and sites, which
// Config Vault owns.
type Directory interface {
	// TenantExists returns nil, a not-found problem, or an unavailable one.
	TenantExists(ctx context.Context, tenantID uuid.UUID) error
	// SiteTenant returns the tenant a site belongs to, or a not-found problem.
	SiteTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error)
}

// ConfigVault is the Directory over Config Vault's generated client. Answers
// that something exists are cached for a short while (ttlcache): every
// tenant-scoped request asks, and tenants and sites are created far more
// often than they are deleted. A deleted tenant may thus still be seen for up
// to the TTL; a new one is usable at once.
type ConfigVault struct {
	client  *cvclient.ClientWithResponses
	tenants *ttlcache.Cache[uuid.UUID, struct{}]
	sites   *ttlcache.Cache[uuid.UUID, uuid.UUID] // site -> owner
}

// NewConfigVault wraps a Config Vault client; ttl bounds how long a positive
// answer is reused.
func NewConfigVault(client *cvclient.ClientWithResponses, ttl time.Duration) *ConfigVault {
	return &ConfigVault{client: client, tenants: ttlcache.New[uuid.UUID, struct{}](ttl),
		sites: ttlcache.New[uuid.UUID, uuid.UUID](ttl)}
}

func (c *ConfigVault) TenantExists(ctx context.Context, tenantID uuid.UUID) error {
	_, err := c.tenants.Get(ctx, tenantID, func(ctx context.Context) (struct{}, error) {
		resp, err := c.client.GetTenantWithResponse(ctx, tenantID)
		switch {
		case err != nil:
			return struct{}{}, svcclient.Failure(ctx, err)
		case resp.StatusCode() == http.StatusOK:
			return struct{}{}, nil
		case svcclient.NotFound(resp.HTTPResponse):
			return struct{}{}, problem.NotFound("tenant %s not found", tenantID)
		}
		return struct{}{}, svcclient.Failure(ctx, svcclient.StatusError(resp.StatusCode()))
	})
	return err
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
			return uuid.Nil, problem.NotFound("site %s not found", siteID)
		}
		return uuid.Nil, svcclient.Failure(ctx, svcclient.StatusError(resp.StatusCode()))
	})
}
