package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// The OAuth 2.0 endpoints answer their errors as RFC 6749 §5.2 says
// ({"error": ..., "error_description": ...}), so that standard libraries
// understand them, request validation's included (see api.go); everything
// else (503, 500) stays problem+json.

// RFC 6749 §5.2 and RFC 7009 §2.2.1 error codes.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errUnsupportedTokenType = "unsupported_token_type"
)

// OAuthError is an RFC 6749 error answer.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthFail(code, description string) *OAuthError {
	return &OAuthError{Code: code, Description: description}
}

// ClientCredentials are what a client authenticates with at an OAuth
// endpoint, by HTTP Basic (client_secret_basic) or in the form
// (client_secret_post).
type ClientCredentials struct {
	ID, Secret string
}

// OAuthRequest is what an OAuth endpoint was sent.
type OAuthRequest struct {
	// Client is nil when the client did not authenticate.
	Client *ClientCredentials
	// Params are the form's fields, each given at most once.
	Params map[string]string
}

// client authenticates the request's client, if it presented credentials;
// nil when it did not.
func (s *Service) client(ctx context.Context, req OAuthRequest) (*Client, error) {
	if req.Client == nil {
		return nil, nil
	}
	c, err := s.authenticateClient(ctx, req.Client.ID, req.Client.Secret)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// requireClient authenticates the request's client, which must have
// presented credentials.
func (s *Service) requireClient(ctx context.Context, req OAuthRequest) (Client, error) {
	if req.Client == nil {
		return Client{}, oauthFail(errInvalidClient, "client authentication is required")
	}
	c, err := s.client(ctx, req)
	if err != nil {
		return Client{}, err
	}
	return *c, nil
}

// parseScope splits a scope parameter (RFC 6749 §3.3); nil when absent or
// empty.
func parseScope(s string) []string {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// Grant types of the token endpoint.
const (
	grantClientCredentials = "client_credentials"
	grantRefresh           = "refresh_token"
)

// Token is the token endpoint (RFC 6749 §3.2): the client_credentials grant
// (§4.4; no refresh token, §4.4.3) and the refresh_token grant (§6).
func (s *Service) Token(ctx context.Context, req OAuthRequest) (Tokens, error) {
	switch grant := req.Params["grant_type"]; grant {
	case "":
		return Tokens{}, oauthFail(errInvalidRequest, "grant_type is required")
	case grantClientCredentials:
		return s.clientCredentials(ctx, req)
	case grantRefresh:
		return s.refreshGrant(ctx, req)
	default:
		return Tokens{}, oauthFail(errUnsupportedGrantType, "supported grant types are client_credentials and refresh_token")
	}
}

// clientCredentials signs a client in for the scope it asks, by default all
// it is allowed.
func (s *Service) clientCredentials(ctx context.Context, req OAuthRequest) (Tokens, error) {
	c, err := s.requireClient(ctx, req)
	if err != nil {
		return Tokens{}, err
	}
	scope := s.grantable(c.TenantID, c.Scopes)
	if requested := parseScope(req.Params["scope"]); requested != nil {
		for _, r := range requested {
			if !slices.Contains(scope, r) {
				return Tokens{}, oauthFail(errInvalidScope, "the client may not ask for "+r)
			}
		}
		scope = requested
	}
	t, err := s.clientToken(ctx, c, scope)
	if errors.Is(err, errNoSigningTenant) {
		return Tokens{}, oauthFail(errInvalidClient, "client authentication failed")
	}
	if err != nil {
		return Tokens{}, askFewer(err)
	}
	tokensIssued.WithLabelValues(grantClientCredentials).Inc()
	return t, nil
}

// refreshGrant is Refresh at the token endpoint. Refresh tokens come from
// the platform's own sign-in, a public client: they are issued to no
// registered client, so a client that authenticates cannot use one
// (RFC 6749 §6: the token must have been issued to the authenticated
// client).
func (s *Service) refreshGrant(ctx context.Context, req OAuthRequest) (Tokens, error) {
	token := req.Params["refresh_token"]
	if token == "" {
		return Tokens{}, oauthFail(errInvalidRequest, "refresh_token is required")
	}
	c, err := s.client(ctx, req)
	if err != nil {
		return Tokens{}, err
	}
	if c != nil {
		return Tokens{}, oauthFail(errInvalidGrant, "the refresh token was not issued to this client")
	}
	t, err := s.Refresh(ctx, token, parseScope(req.Params["scope"]))
	if problem.Is(err, problem.KindUnauthorized) {
		return Tokens{}, oauthFail(errInvalidGrant, "the refresh token is invalid or expired")
	}
	return t, askFewer(err)
}

// askFewer answers an access token too large to issue as invalid_scope:
// at the token endpoint, asking for fewer permissions is the way out.
func askFewer(err error) error {
	if errors.Is(err, errTokenTooLarge) {
		return oauthFail(errInvalidScope, fmt.Sprintf(
			"the access token would exceed the %d bytes every service accepts; ask for fewer permissions with scope", authn.MaxTokenSize))
	}
	return err
}

// isJWT tells an access token (a compact JWS) from a refresh token (one
// base64url string, no dots).
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Revoke is RFC 7009 for refresh tokens: presenting one ends its session,
// whatever the token's state, as /auth/logout does. The token is the proof:
// every refresh token belongs to the platform's public sign-in (RFC 7009
// §2.1 lets a public client revoke its own tokens), and whoever holds one
// could as well use it, so whoever presents it may end its session, with
// client authentication or without, as a client of any tenant. Credentials
// that are sent must be right (invalid_client); they change nothing else.
// Access tokens are self-contained and short-lived: nothing can revoke
// them, which is answered unsupported_token_type (§2.2.1). Unknown tokens
// are no error (§2.2).
func (s *Service) Revoke(ctx context.Context, req OAuthRequest) error {
	token := req.Params["token"]
	if token == "" {
		return oauthFail(errInvalidRequest, "token is required")
	}
	if _, err := s.client(ctx, req); err != nil {
		return err
	}
	if isJWT(token) {
		return oauthFail(errUnsupportedTokenType, "access tokens cannot be revoked; they expire within minutes")
	}
	return s.refresh.Revoke(ctx, token)
}

// Introspection is RFC 7662's answer; Active false is all an inactive
// token's answer says.
type Introspection struct {
	Active bool
	Claims authn.Claims
	// Refresh says it is a refresh token (Claims then hold only TenantID,
	// Subject and ExpiresAt).
	Refresh bool
}

// Introspect is RFC 7662 for an authenticated client: whether a token of the
// client's tenant is active, that is, whether using it would work now.
// Tokens of other tenants are inactive, as are expired, revoked, spent,
// unknown and malformed ones, and those whose subject is gone: a deleted or
// inactive client, a deleted, disabled or locked user. Introspection only
// reads: a spent refresh token presented here ends nothing (only presenting
// it for use proves it leaked), and another tenant's token is left as it
// is.
func (s *Service) Introspect(ctx context.Context, req OAuthRequest) (Introspection, error) {
	token := req.Params["token"]
	if token == "" {
		return Introspection{}, oauthFail(errInvalidRequest, "token is required")
	}
	c, err := s.requireClient(ctx, req)
	if err != nil {
		return Introspection{}, err
	}
	if isJWT(token) {
		return s.introspectAccess(ctx, c.TenantID, token)
	}
	return s.introspectRefresh(ctx, c.TenantID, token)
}

// introspectAccess: an access token of the tenant that verifies as every
// service verifies it, whose subject is still there.
func (s *Service) introspectAccess(ctx context.Context, tenantID uuid.UUID, token string) (Introspection, error) {
	claims, err := s.verifier.Verify(ctx, token)
	switch {
	case problem.Is(err, problem.KindUnauthorized):
		return Introspection{}, nil
	case err != nil:
		return Introspection{}, err
	case claims.TenantID != tenantID:
		return Introspection{}, nil
	}
	var alive bool
	if claims.UserID != nil {
		_, alive, err = s.activeUser(ctx, tenantID, *claims.UserID)
	} else {
		alive, err = s.clientActive(ctx, tenantID, claims.ClientID)
	}
	if err != nil || !alive {
		return Introspection{}, err
	}
	return Introspection{Active: true, Claims: claims}, nil
}

// introspectRefresh: a usable refresh token of the tenant that a refresh
// would accept now: its user active, with the security stamp of the sign-in
// (as Refresh checks).
func (s *Service) introspectRefresh(ctx context.Context, tenantID uuid.UUID, token string) (Introspection, error) {
	g, err := s.refresh.Peek(ctx, token)
	switch {
	case problem.Is(err, problem.KindUnauthorized):
		return Introspection{}, nil
	case err != nil:
		return Introspection{}, err
	case g.TenantID != tenantID:
		return Introspection{}, nil
	}
	if _, state, err := s.session(ctx, g); err != nil || state != sessionLive {
		return Introspection{}, err
	}
	return Introspection{Active: true, Refresh: true, Claims: authn.Claims{TenantID: g.TenantID, Subject: g.UserID.String(),
		ExpiresAt: g.ExpiresAt}}, nil
}
