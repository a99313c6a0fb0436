package iam

import (
	"context"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// ProviderMetadata is what a tenant's issuer publishes (OpenID Connect
// Discovery 1.0, RFC 8414).
type ProviderMetadata struct {
	Issuer, JWKSURI, TokenEndpoint, RevocationEndpoint, IntrospectionEndpoint, UserinfoEndpoint string
}

// Every tenant's issuer supports the same: these grants, client
// authentication and the algorithms Config Vault signs with.
//
// The issuer is an OAuth 2.0 authorization server for machine clients and
// the platform's own sign-in, not an OpenID Provider for third-party
// relying parties: it has no authorization endpoint and issues no ID
// tokens. OpenID Connect Discovery requires authorization_endpoint and a
// non-empty response_types_supported; RFC 8414 (§2) lets a server without
// the authorization endpoint's grants leave the endpoint out, and an empty
// response_types_supported says that no response type is supported. The
// metadata tells the truth that way rather than promise a flow that is not
// there; what libraries such as go-oidc need to verify access tokens
// (issuer, jwks_uri, id_token_signing_alg_values_supported) is all present.
var (
	responseTypesSupported = []string{}
	grantTypesSupported    = []string{grantClientCredentials, grantRefresh}
	authMethodsSupported   = []string{"client_secret_basic", "client_secret_post"}
	signingAlgsSupported   = []string{"ES256", "RS256", "PS256", "EdDSA"}
	subjectTypesSupported  = []string{"public"}
)

// Metadata is an active tenant's provider metadata; a not-found problem for
// a tenant that does not exist or is inactive, which has no issuer.
func (s *Service) Metadata(ctx context.Context, tenantID uuid.UUID) (ProviderMetadata, error) {
	active, err := s.vault.tenant(ctx, tenantID)
	if err != nil {
		return ProviderMetadata{}, err
	}
	if !active {
		return ProviderMetadata{}, problem.NotFound("tenant %s not found", tenantID)
	}
	iss := s.issuer(tenantID)
	api := s.publicURL + Prefix
	return ProviderMetadata{Issuer: iss, JWKSURI: iss + "/jwks.json", TokenEndpoint: api + "/oauth2/token",
		RevocationEndpoint: api + "/oauth2/revoke", IntrospectionEndpoint: api + "/oauth2/introspect",
		UserinfoEndpoint: api + "/userinfo"}, nil
}

// JWKS is the tenant's published key set as Config Vault publishes it, with
// Config Vault's Cache-Control.
func (s *Service) JWKS(ctx context.Context, tenantID uuid.UUID) ([]map[string]any, string, error) {
	return s.vault.jwks(ctx, tenantID)
}

// UserInfo is what OpenID Connect's userinfo endpoint tells of the
// signed-in user.
type UserInfo struct {
	account
	profile
}

// UserInfo reads the claims of the user the request's access token names,
// from UAM. A client's token names no user (403); a user who is gone,
// disabled or locked has no claims to tell (401, as for a revoked token).
func (s *Service) UserInfo(ctx context.Context) (UserInfo, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return UserInfo{}, authn.MissingToken()
	}
	if p.UserID == nil {
		return UserInfo{}, problem.New(problem.KindForbidden, "userinfo is for users' tokens; a client's token names no user")
	}
	gone := problem.New(problem.KindUnauthorized, authn.InvalidTokenDetail)
	acc, alive, err := s.activeUser(ctx, p.TenantID, *p.UserID)
	if err != nil {
		return UserInfo{}, err
	}
	if !alive {
		return UserInfo{}, gone
	}
	prof, err := s.users.profile(ctx, p.TenantID, *p.UserID)
	if problem.Is(err, problem.KindNotFound) {
		return UserInfo{}, gone
	}
	if err != nil {
		return UserInfo{}, err
	}
	return UserInfo{account: acc, profile: prof}, nil
}

// activeUser reads what the user may do now from UAM; alive is false for a
// user who is gone, disabled or locked, whose tokens stand for no one.
func (s *Service) activeUser(ctx context.Context, tenantID, userID uuid.UUID) (acc account, alive bool, err error) {
	acc, err = s.users.grant(ctx, tenantID, userID)
	if problem.Is(err, problem.KindNotFound) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, err
	}
	return acc, acc.Active, nil
}
