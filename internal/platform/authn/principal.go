// Package authn carries the authenticated caller of a request. The IAM issue
// adds the token verifier that puts a Principal into the context; services read
// it from there and never parse tokens themselves.
package authn

import (
	"context"

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
