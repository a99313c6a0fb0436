package iam

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// The OAuth 2.0 endpoints answer their errors as RFC 6749 §5.2 says
// ({"error": ..., "error_description": ...}), so that standard libraries
// understand them; everything else (503, 500) stays problem+json.

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
	scope := grantable(c.Scopes)
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
		return Tokens{}, err
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
	return t, err
}

// isJWT tells an access token (a compact JWS) from a refresh token (one
// base64url string, no dots).
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Revoke is RFC 7009: a refresh token's session ends. Access tokens are
// self-contained and short-lived: nothing can revoke them, which is
// answered unsupported_token_type (§2.2.1). Client authentication is
// optional, because the platform's own sign-in is a public client; a client
// that does authenticate revokes only tokens of its tenant. Unknown tokens
// are no error (§2.2).
func (s *Service) Revoke(ctx context.Context, req OAuthRequest) error {
	token := req.Params["token"]
	if token == "" {
		return oauthFail(errInvalidRequest, "token is required")
	}
	c, err := s.client(ctx, req)
	if err != nil {
		return err
	}
	if isJWT(token) {
		return oauthFail(errUnsupportedTokenType, "access tokens cannot be revoked; they expire within minutes")
	}
	if c != nil {
		g, err := s.refresh.Lookup(ctx, token)
		if problem.Is(err, problem.KindUnauthorized) || err == nil && g.TenantID != c.TenantID {
			return nil
		}
		if err != nil {
			return err
		}
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
// client's tenant is active. Tokens of other tenants are inactive, as are
// expired, revoked, spent, unknown and malformed ones.
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
		claims, err := s.verifier.Verify(ctx, token)
		switch {
		case problem.Is(err, problem.KindUnauthorized):
			return Introspection{}, nil
		case err != nil:
			return Introspection{}, err
		case claims.TenantID != c.TenantID:
			return Introspection{}, nil
		}
		return Introspection{Active: true, Claims: claims}, nil
	}
	g, err := s.refresh.Lookup(ctx, token)
	switch {
	case problem.Is(err, problem.KindUnauthorized):
		return Introspection{}, nil
	case err != nil:
		return Introspection{}, err
	case g.TenantID != c.TenantID:
		return Introspection{}, nil
	}
	sub := cmp.Or(g.UserID, g.ClientID)
	return Introspection{Active: true, Refresh: true, Claims: authn.Claims{TenantID: g.TenantID, Subject: sub.String(),
		ExpiresAt: g.ExpiresAt}}, nil
}
