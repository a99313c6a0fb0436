// Package authn carries the authenticated caller of a request and holds the
// platform's one access-token verifier ([Verifier]). The authentication
// middleware verifies the bearer token and puts a Principal into the context;
// services read it from there and never parse tokens themselves.
package authn

import (
	"context"
	"slices"

	"github.com/google/uuid"
)

// Principal is who a request acts for.
type Principal struct {
	// TenantID is the tenant the token was issued in.
	TenantID uuid.UUID
	// UserID is set for a user's token and nil for a machine client's.
	UserID *uuid.UUID
	// Subject is the token's sub claim: the user id or the client id.
	Subject string
	// ClientID is the OAuth client the token was issued to: for a machine
	// client's token the client itself (equal to Subject), for a user's token
	// the application the user signed in through, if the token names one.
	ClientID string
	// Scopes are the tenant-wide permissions ("content:write", ...): they
	// apply to the tenant and to every site of it.
	Scopes []string
	// SiteScopes are permissions granted on one site only, by site id.
	SiteScopes map[uuid.UUID][]string
	// Service names the platform service a service credential authenticated
	// ("iam", ...); empty for users and machine clients.
	Service string
}

// Has reports whether the principal holds permission. A tenant-wide
// permission (in Scopes) applies everywhere; a site-scoped one applies only
// when site names that site. ServiceOnlyPermissions count only for a
// service's principal, whatever a token claims. For an operation on no particular site, pass nil:
// site-scoped permissions then never count.
func (p Principal) Has(permission string, site *uuid.UUID) bool {
	if permission == "" || IsServiceOnly(permission) && p.Service == "" {
		return false
	}
	if slices.Contains(p.Scopes, permission) {
		return true
	}
	if site == nil {
		return false
	}
	return slices.Contains(p.SiteScopes[*site], permission)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, if it was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
