package configvault

import (
	"context"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Tenant scoping of the operations whose path names no tenant.
//
// The authorization middleware (authz) checks each operation's permission
// and matches a tenant_id in the path against the caller's tenant; the
// operations under /tenants/{tenant_id} and /internal/tenants/{tenant_id}
// rely on it alone. What it cannot know is who owns a site or a key
// addressed by its own id, a tenant_id in a body or a query, or which rows a
// list of every tenant may show. The service decides that, here and nowhere
// else: every use case reaching tenant-owned data by other means asks the
// call's reach, and answers what lies outside it exactly as it answers what
// does not exist (404 with the same detail, or an empty list), so that ids
// tell a caller nothing about other tenants.

// reach is the set of tenants whose resources a call may see and change:
// every tenant, or exactly one.
type reach struct {
	everywhere bool
	tenant     uuid.UUID // the one tenant, when !everywhere
}

// reachOf is the reach of the call ctx carries:
//
//   - a request admitted as a platform administrator's (authz.PlatformAdmin:
//     a principal of the platform tenant with a platform-level permission,
//     or another service's credential, holding the operation's permission
//     tenant-wide) reaches every tenant;
//   - any other authenticated request reaches its principal's tenant only;
//   - a call without a principal reaches every tenant. It did not come
//     through the authorization middleware, which puts a principal into
//     every request it admits to an operation that reads or changes tenant
//     data: it is the process's own use of the service (saas
//     rotate-master-key, a bootstrap, tests), or an API mounted without
//     authorization at all, which no scoping here could make safe.
func reachOf(ctx context.Context) reach {
	p, ok := authn.FromContext(ctx)
	if !ok || authz.PlatformAdmin(ctx) {
		return reach{everywhere: true}
	}
	return reach{tenant: p.TenantID}
}

// admits reports whether the call may touch a resource owned by tenant.
func (r reach) admits(tenant uuid.UUID) bool { return r.everywhere || r.tenant == tenant }

// only is the tenant a list is confined to; ok is false for a call that
// reaches every tenant.
func (r reach) only() (tenant uuid.UUID, ok bool) { return r.tenant, !r.everywhere }

// within answers missing, the error of a resource that does not exist, when
// tenant is outside the call's reach, and nil otherwise.
func within(ctx context.Context, tenant uuid.UUID, missing error) error {
	if reachOf(ctx).admits(tenant) {
		return nil
	}
	return missing
}

// owned is a tenant-owned resource.
type owned interface{ ownerTenant() uuid.UUID }

func (s Site) ownerTenant() uuid.UUID       { return s.TenantID }
func (k SigningKey) ownerTenant() uuid.UUID { return k.TenantID }

// visible passes a resource just read (or the error of reading it) through,
// unless it belongs to a tenant outside the call's reach: then it is
// answered as missing. The read comes first because nothing but the row
// knows its tenant; a site or key never changes tenant, so the answer holds
// for a write that follows.
func visible[R owned](ctx context.Context, r R, err error, missing error) (R, error) {
	if err == nil {
		err = within(ctx, r.ownerTenant(), missing)
	}
	if err != nil {
		var zero R
		return zero, err
	}
	return r, nil
}

// siteOwner is site id as the owner of keys, as the call may see it: for a
// call confined to one tenant, only a site of that tenant exists, which the
// active-key query itself enforces (it also tells why an owner has no key,
// which must not be told about another tenant's site).
func (r reach) siteOwner(id uuid.UUID) keyOwner {
	if tenant, ok := r.only(); ok {
		return tenantSiteOwner(tenant, id)
	}
	return siteOwner(id)
}

// platformLevel refuses (403) a change that concerns the platform rather
// than one tenant, such as creating a tenant, to a call that does not reach
// every tenant: a principal holding the permission within its own tenant
// only (tenants:write lets a tenant's administrators change their tenant).
func platformLevel(ctx context.Context, what string) error {
	if reachOf(ctx).everywhere {
		return nil
	}
	return problem.New(problem.KindForbidden, "only platform administrators may %s", what)
}
