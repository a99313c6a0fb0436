// Package authz is the platform's one enforcement point for access: the
// spec decides, handlers never re-check. An [Authorizer] is built from a
// service's OpenAPI document and plugged into httpapi.API.Authorize; for
// every request routed to an operation it applies that operation's
// effective `security` requirement (the operation's own, else the
// document's), precomputed at construction:
//
//   - Open operations (`security: []`, or an empty requirement object `{}`
//     among the alternatives) pass without a token. The Authorization
//     header is then ignored altogether, neither parsed nor verified: the
//     token endpoints take client credentials there in the Basic scheme
//     (RFC 6749 §2.3.1), clients send stale tokens to the refresh and
//     login operations, and the key sets and discovery documents must be
//     readable by anyone, so refusing a header an open operation does not
//     need would only break callers, and answering it cannot be a 500.
//     Handlers of open operations find no principal in the context.
//   - Otherwise the request needs a bearer token (RFC 6750): none is 401
//     with the challenge `Bearer`, a malformed Authorization header 401
//     `Bearer error="invalid_request"`, a token the verifier refuses 401
//     `Bearer error="invalid_token"`, and a verifier that cannot verify
//     now (no key set) 503, with Retry-After when the verifier names one.
//   - Tenant: when the path has a tenant_id parameter, a caller of another
//     tenant is answered 404, never 403, whatever it holds, so that ids
//     leak nothing; a platform administrator is the exception (below). A
//     tenant_id that is no UUID is left to request validation (400): no
//     tenant has it. New requires tenant_id path parameters to be of format
//     uuid, so that validation does refuse it.
//   - Permission: the caller must hold every scope of one of the listed
//     requirement objects (OpenAPI semantics); an object without scopes is
//     satisfied by any valid token. A permission granted on one site only
//     counts when the path has a site_id parameter naming that site;
//     everywhere else only tenant-wide permissions count
//     ([authn.Principal.Has]). A site_id in a query or a body scopes
//     nothing. Missing: 403 with `Bearer error="insufficient_scope",
//     scope="<the first missing permission>"`.
//   - Platform administrators are principals of Options.PlatformTenantID
//     with platform scopes (services, and users or clients holding a
//     platform-level permission, tenants:access or tenants:write,
//     tenant-wide) who
//     satisfy the operation's requirement with tenant-wide permissions of an
//     alternative that names at least one permission. They pass the tenant
//     match above and act across tenants; any other platform-tenant
//     principal gets 404 like anyone else, and an operation that asks for no
//     permission (any valid token) never admits anyone across tenants.
//
// The verified principal is put in the request's context
// ([authn.WithPrincipal], read with [authn.FromContext]) and named in the
// access log (httpapi.SetPrincipal, by its subject).
//
// What the middleware guarantees, and what it cannot: it guarantees
// authentication, the permission, and that a tenant_id in the path is the
// caller's tenant (or the caller a platform administrator). It cannot know
// who owns a resource addressed by any other id: a site, a key, a user id,
// "me", a tenant_id in a query or a body, or nothing at all (lists of every
// tenant's resources). Services must scope those themselves by the
// principal's tenant: filter every query by authn.FromContext(ctx).TenantID
// and answer another tenant's resource 404, unless [PlatformAdmin] reports
// that the request was admitted as a platform administrator's; [MayActIn]
// is that rule for one owning tenant. [Operations] lists, per operation,
// whether the path is tenant-scoped. Ids below a tenant_id in the path
// (users, roles, clients, ...) are looked up within that tenant, as every
// query filters by tenant_id anyway.
//
// Wiring, per service:
//
//	a, err := authz.New(spec, authz.Options{Verifier: verifier, PlatformTenantID: platformTenant})
//	...
//	httpapi.API{Name: ..., Prefix: ..., Spec: spec, Handler: ..., Authorize: a.Authorize}
package authz

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Verifier verifies an access token. Its errors must be *problem.Error of
// problem.KindUnauthorized (the token is refused: 401) or
// problem.KindUnavailable (it cannot be checked now: 503), as those of
// *authn.Verifier and the service credential verifier are; any other error
// is answered as an unexpected 500.
type Verifier = authn.TokenVerifier

var _ Verifier = (*authn.Verifier)(nil)

// Options configure an Authorizer.
type Options struct {
	// Verifier checks bearer tokens; required.
	Verifier Verifier
	// PlatformTenantID is the platform tenant, whose administrators (its
	// services and its principals holding a platform-level permission) may
	// act across tenants with an operation's permission held tenant-wide.
	// uuid.Nil: nobody may.
	PlatformTenantID uuid.UUID
}

// Authorizer enforces one spec's security requirements. It is safe for
// concurrent use.
type Authorizer struct {
	verifier Verifier
	platform uuid.UUID
	policies map[*openapi3.Operation]*policy
}

// New builds the Authorizer of doc, which must be the very document the
// service is mounted with (httpapi.API.Spec): operations are recognised by
// identity, and a request routed to an operation of another document is
// refused with a 500. It fails as [Operations] does on a requirement it
// cannot enforce, or without a verifier.
func New(doc *openapi3.T, opts Options) (*Authorizer, error) {
	if opts.Verifier == nil {
		return nil, fmt.Errorf("authz: Options.Verifier is required")
	}
	_, policies, err := compile(doc)
	if err != nil {
		return nil, err
	}
	return &Authorizer{verifier: opts.Verifier, platform: opts.PlatformTenantID, policies: policies}, nil
}

type adminKey struct{}

// Authorize is httpapi.API.Authorize: it answers the request (401, 403, 404,
// 503 as problem+json with its challenge) and returns false, or returns the
// request carrying its principal and true.
func (a *Authorizer) Authorize(w http.ResponseWriter, r *http.Request, route *routers.Route, pathParams map[string]string) (*http.Request, bool) {
	pol := a.policies[route.Operation]
	if pol == nil {
		problem.Write(w, r, fmt.Errorf("authz: %s %s is no operation of the document the Authorizer was built from", route.Method, route.Path))
		return nil, false
	}
	if pol.open {
		return r, true
	}
	token, ok, err := authn.BearerToken(r)
	if err != nil {
		authn.WriteError(w, r, err)
		return nil, false
	}
	if !ok {
		authn.WriteError(w, r, authn.MissingToken())
		return nil, false
	}
	claims, err := a.verifier.Verify(r.Context(), token)
	if err != nil {
		authn.WriteError(w, r, err)
		return nil, false
	}
	p := claims.Principal()
	httpapi.SetPrincipal(r.Context(), p.Subject)

	admin := a.platform != uuid.Nil && p.TenantID == a.platform && platformScoped(&p) && pol.scopesSatisfied(&p, nil)
	if pol.tenantScoped && !admin {
		if tenant, ok := parseID(pathParams[TenantParam]); ok && tenant != p.TenantID {
			problem.Write(w, r, problem.NotFound("no resource at %s", r.URL.Path))
			return nil, false
		}
	}
	var site *uuid.UUID
	if pol.siteScoped {
		if id, ok := parseID(pathParams[SiteParam]); ok {
			site = &id
		}
	}
	if !pol.satisfied(&p, site) {
		authn.WriteError(w, r, authn.InsufficientScope(pol.missing(&p, site)))
		return nil, false
	}

	ctx := authn.WithPrincipal(r.Context(), p)
	if admin {
		ctx = context.WithValue(ctx, adminKey{}, true)
	}
	return r.WithContext(ctx), true
}

// platformScoped reports whether a principal of the platform tenant is one
// of its administrators (ARCHITECTURE §6: "members of the platform tenant
// with platform scopes"): a service, or a user or client holding a
// platform-level permission tenant-wide (tenants:access, which does nothing
// else, or tenants:write). Other members of the platform tenant
// are ordinary members of it: a role with users:read given to a support
// engineer there reads the platform tenant's users, not every tenant's.
func platformScoped(p *authn.Principal) bool {
	if p.Service != "" {
		return true
	}
	// Has: the service-only ones never count for anyone else.
	return slices.ContainsFunc(p.Scopes, func(perm string) bool { return authn.IsPlatformLevel(perm) && p.Has(perm, nil) })
}

// parseID reads an id as request validation accepts it (format uuid: 36
// characters that uuid.Parse takes, in either case).
func parseID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil
}

// PlatformAdmin reports whether the request was admitted as a platform
// administrator's: a principal of the platform tenant with platform scopes
// (platformScoped) holding the operation's permission tenant-wide. Such a
// request may act on any tenant's resources.
func PlatformAdmin(ctx context.Context) bool {
	v, _ := ctx.Value(adminKey{}).(bool)
	return v
}

// MayActIn reports whether the request may act on a resource owned by
// tenant: its principal belongs to tenant, or it was admitted as a platform
// administrator's. A service that loads a resource by an id other than the
// tenant_id of the path answers 404 when this is false.
func MayActIn(ctx context.Context, tenant uuid.UUID) bool {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return false
	}
	return p.TenantID == tenant || PlatformAdmin(ctx)
}
