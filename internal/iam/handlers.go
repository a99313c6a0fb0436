package iam

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/iam"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
)

// handlers adapts the generated strict server interface to the Service: they
// translate API <-> domain and call one method each. Errors are rendered as
// problem+json by the strict server's error handler, except the OAuth
// endpoints' RFC 6749 errors, which are answers of their own.
type handlers struct{ svc *Service }

var _ api.StrictServerInterface = handlers{}

// noStore is the Cache-Control of every answer that carries a credential
// (RFC 6749 §5.1).
const noStore = "no-store"

// discoveryCache lets clients keep a tenant's metadata for a while; it
// changes only with the deployment's configuration.
const discoveryCache = "public, max-age=300"

// omitEmpty renders "" as an absent member.
func omitEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Sign-in

func tokenOut(t Tokens) api.TokenResponse {
	return api.TokenResponse{AccessToken: t.AccessToken, TokenType: api.TokenResponseTokenTypeBearer, ExpiresIn: t.ExpiresIn,
		RefreshToken: t.RefreshToken, Scope: omitEmpty(t.Scope)}
}

func (h handlers) Login(ctx context.Context, r api.LoginRequestObject) (api.LoginResponseObject, error) {
	t, err := h.svc.Login(ctx, LoginInput{TenantID: r.Body.TenantId, Email: r.Body.Email, Password: r.Body.Password,
		Address: factsFrom(ctx).address})
	if err != nil {
		return nil, err
	}
	return api.Login200JSONResponse{Body: tokenOut(t), Headers: api.Login200ResponseHeaders{CacheControl: noStore}}, nil
}

func (h handlers) Refresh(ctx context.Context, r api.RefreshRequestObject) (api.RefreshResponseObject, error) {
	t, err := h.svc.Refresh(ctx, r.Body.RefreshToken, nil)
	if err != nil {
		return nil, err
	}
	return api.Refresh200JSONResponse{Body: tokenOut(t), Headers: api.Refresh200ResponseHeaders{CacheControl: noStore}}, nil
}

func (h handlers) Logout(ctx context.Context, r api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	if err := h.svc.Logout(ctx, r.Body.RefreshToken); err != nil {
		return nil, err
	}
	return api.Logout204Response{}, nil
}

// OAuth 2.0

// basicChallenge is the WWW-Authenticate of every invalid_client answer.
// RFC 6749 §5.2 requires it when the client used HTTP Basic, and RFC 7235
// requires some challenge with every 401 anyway; HTTP Basic is the way to
// authenticate here that every client library knows (client_secret_post
// works as well).
const basicChallenge = `Basic realm="iam"`

// oauthErrorAnswer is an RFC 6749 §5.2 error, the same answer at each OAuth
// endpoint: it is the response of all three.
type oauthErrorAnswer struct{ *OAuthError }

func (a oauthErrorAnswer) VisitOauthTokenResponse(w http.ResponseWriter) error {
	return writeOAuthError(w, a.OAuthError)
}

func (a oauthErrorAnswer) VisitOauthRevokeResponse(w http.ResponseWriter) error {
	return writeOAuthError(w, a.OAuthError)
}

func (a oauthErrorAnswer) VisitOauthIntrospectResponse(w http.ResponseWriter) error {
	return writeOAuthError(w, a.OAuthError)
}

// oauthFailure is an OAuth endpoint's answer to err: an RFC 6749 error as
// itself, anything else (503, 500) as the problem it is (the strict server
// then writes the error, never the zero answer beside it).
func oauthFailure(err error) (oauthErrorAnswer, error) {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oauthErrorAnswer{oe}, nil
	}
	return oauthErrorAnswer{}, err
}

// writeOAuthError writes e as RFC 6749 §5.2 says: 401 with the Basic
// challenge for invalid_client, 400 for every other code, never cached.
func writeOAuthError(w http.ResponseWriter, e *OAuthError) error {
	status := http.StatusBadRequest
	if e.Code == errInvalidClient {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", basicChallenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", noStore)
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(api.OAuthError{Error: api.OAuthErrorError(e.Code), ErrorDescription: omitEmpty(e.Description)})
}

func (h handlers) OauthToken(ctx context.Context, _ api.OauthTokenRequestObject) (api.OauthTokenResponseObject, error) {
	req, err := oauthRequest(ctx)
	var t Tokens
	if err == nil {
		t, err = h.svc.Token(ctx, req)
	}
	if err != nil {
		return oauthFailure(err)
	}
	return api.OauthToken200JSONResponse{Body: api.OAuthTokenResponse{AccessToken: t.AccessToken,
		TokenType: api.OAuthTokenResponseTokenTypeBearer, ExpiresIn: t.ExpiresIn, Scope: omitEmpty(t.Scope),
		RefreshToken: omitEmpty(t.RefreshToken)}, Headers: api.OauthToken200ResponseHeaders{CacheControl: noStore}}, nil
}

func (h handlers) OauthRevoke(ctx context.Context, _ api.OauthRevokeRequestObject) (api.OauthRevokeResponseObject, error) {
	req, err := oauthRequest(ctx)
	if err == nil {
		err = h.svc.Revoke(ctx, req)
	}
	if err != nil {
		return oauthFailure(err)
	}
	return api.OauthRevoke200Response{}, nil
}

func (h handlers) OauthIntrospect(ctx context.Context, _ api.OauthIntrospectRequestObject) (api.OauthIntrospectResponseObject, error) {
	req, err := oauthRequest(ctx)
	var in Introspection
	if err == nil {
		in, err = h.svc.Introspect(ctx, req)
	}
	if err != nil {
		return oauthFailure(err)
	}
	return api.OauthIntrospect200JSONResponse{Body: introspectionOut(in),
		Headers: api.OauthIntrospect200ResponseHeaders{CacheControl: noStore}}, nil
}

func introspectionOut(in Introspection) api.Introspection {
	if !in.Active {
		return api.Introspection{Active: false}
	}
	c := in.Claims
	out := api.Introspection{Active: true, Sub: &c.Subject, TenantId: &c.TenantID, Exp: ptr(int(c.ExpiresAt.Unix()))}
	if in.Refresh {
		out.TokenType = ptr("refresh_token")
		return out
	}
	out.TokenType = ptr("Bearer")
	out.Iss, out.Jti, out.ClientId = &c.Issuer, &c.ID, omitEmpty(c.ClientID)
	out.Iat = ptr(int(c.IssuedAt.Unix()))
	if !c.NotBefore.IsZero() {
		out.Nbf = ptr(int(c.NotBefore.Unix()))
	}
	if len(c.Audience) > 0 {
		out.Aud = &c.Audience[0] // IAM's tokens name one audience, the platform
	}
	out.Scope = omitEmpty(strings.Join(c.Scopes, " "))
	if len(c.SiteScopes) > 0 {
		sites := make(map[string]string, len(c.SiteScopes))
		for site, perms := range c.SiteScopes {
			sites[site.String()] = strings.Join(perms, " ")
		}
		out.SiteScope = &sites
	}
	return out
}

func (h handlers) UserInfo(ctx context.Context, _ api.UserInfoRequestObject) (api.UserInfoResponseObject, error) {
	u, err := h.svc.UserInfo(ctx)
	if err != nil {
		return nil, err
	}
	return api.UserInfo200JSONResponse{Sub: u.UserID.String(), TenantId: u.TenantID, Email: &u.Email,
		EmailVerified: &u.EmailVerified, Name: omitEmpty(u.DisplayName), GivenName: omitEmpty(u.GivenName),
		FamilyName: omitEmpty(u.FamilyName), Picture: omitEmpty(u.AvatarURL), Locale: omitEmpty(u.Locale),
		Zoneinfo: omitEmpty(u.Timezone), PhoneNumber: omitEmpty(u.Phone)}, nil
}

// Discovery

func (h handlers) OpenidConfiguration(ctx context.Context, r api.OpenidConfigurationRequestObject) (api.OpenidConfigurationResponseObject, error) {
	m, err := h.svc.Metadata(ctx, r.TenantId)
	if err != nil {
		return nil, err
	}
	return api.OpenidConfiguration200JSONResponse{Body: api.ProviderMetadata{
		Issuer: m.Issuer, JwksUri: m.JWKSURI, TokenEndpoint: m.TokenEndpoint, RevocationEndpoint: &m.RevocationEndpoint,
		IntrospectionEndpoint: &m.IntrospectionEndpoint, UserinfoEndpoint: &m.UserinfoEndpoint,
		GrantTypesSupported: &grantTypesSupported, ResponseTypesSupported: responseTypesSupported,
		SubjectTypesSupported: subjectTypesSupported, IdTokenSigningAlgValuesSupported: signingAlgsSupported,
		TokenEndpointAuthMethodsSupported: &authMethodsSupported,
		AdditionalProperties: map[string]any{
			"revocation_endpoint_auth_methods_supported":    authMethodsSupported,
			"introspection_endpoint_auth_methods_supported": authMethodsSupported,
		},
	}, Headers: api.OpenidConfiguration200ResponseHeaders{CacheControl: discoveryCache}}, nil
}

func (h handlers) TenantJWKS(ctx context.Context, r api.TenantJWKSRequestObject) (api.TenantJWKSResponseObject, error) {
	keys, cacheControl, err := h.svc.JWKS(ctx, r.TenantId)
	if err != nil {
		return nil, err
	}
	return api.TenantJWKS200JSONResponse{Body: api.JWKS{Keys: keys}, Headers: api.TenantJWKS200ResponseHeaders{CacheControl: cacheControl}}, nil
}

// Machine clients

func clientOut(c Client) api.MachineClient {
	return api.MachineClient{ClientId: c.ID, TenantId: c.TenantID, Name: c.Name, Scopes: c.Scopes, IsActive: c.IsActive,
		SecretRotatedAt: &c.SecretRotatedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func clientWithSecretOut(c Client, secret string) api.ClientWithSecret {
	return api.ClientWithSecret{MachineClient: clientOut(c), ClientSecret: secret}
}

func (h handlers) CreateClient(ctx context.Context, r api.CreateClientRequestObject) (api.CreateClientResponseObject, error) {
	c, err := ParseClientChange(ClientChange{Name: &r.Body.Name, Scopes: &r.Body.Scopes, IsActive: r.Body.IsActive})
	if err != nil {
		return nil, err
	}
	client, secret, err := h.svc.CreateClient(ctx, r.TenantId, c)
	if err != nil {
		return nil, err
	}
	return api.CreateClient201JSONResponse{Body: clientWithSecretOut(client, secret), Headers: api.CreateClient201ResponseHeaders{
		Location: Prefix + "/tenants/" + client.TenantID.String() + "/clients/" + client.ID.String(),
		ETag:     etag.Of(client.Version), CacheControl: noStore}}, nil
}

func (h handlers) ListClients(ctx context.Context, r api.ListClientsRequestObject) (api.ListClientsResponseObject, error) {
	after, err := page.Decode(r.Params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := page.Limit(r.Params.Limit)
	rows, err := h.svc.Clients(ctx, r.TenantId, after, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page.Cut(rows, limit, func(c Client) uuid.UUID { return c.ID })
	items := make([]api.MachineClient, len(rows))
	for i, c := range rows {
		items[i] = clientOut(c)
	}
	return api.ListClients200JSONResponse{Items: items, NextCursor: next}, nil
}

func (h handlers) GetClient(ctx context.Context, r api.GetClientRequestObject) (api.GetClientResponseObject, error) {
	c, err := h.svc.Client(ctx, r.TenantId, r.ClientId)
	if err != nil {
		return nil, err
	}
	return api.GetClient200JSONResponse{Body: clientOut(c), Headers: api.GetClient200ResponseHeaders{ETag: etag.Of(c.Version)}}, nil
}

func (h handlers) UpdateClient(ctx context.Context, r api.UpdateClientRequestObject) (api.UpdateClientResponseObject, error) {
	change, err := ParseClientChange(ClientChange{Name: r.Body.Name, Scopes: r.Body.Scopes, IsActive: r.Body.IsActive})
	if err != nil {
		return nil, err
	}
	c, err := h.svc.UpdateClient(ctx, r.TenantId, r.ClientId, change, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateClient200JSONResponse{Body: clientOut(c), Headers: api.UpdateClient200ResponseHeaders{ETag: etag.Of(c.Version)}}, nil
}

func (h handlers) DeleteClient(ctx context.Context, r api.DeleteClientRequestObject) (api.DeleteClientResponseObject, error) {
	if err := h.svc.DeleteClient(ctx, r.TenantId, r.ClientId, etag.Expected(r.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteClient204Response{}, nil
}

func (h handlers) RotateClientSecret(ctx context.Context, r api.RotateClientSecretRequestObject) (api.RotateClientSecretResponseObject, error) {
	c, secret, err := h.svc.RotateClientSecret(ctx, r.TenantId, r.ClientId, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.RotateClientSecret200JSONResponse{Body: clientWithSecretOut(c, secret), Headers: api.RotateClientSecret200ResponseHeaders{
		ETag: etag.Of(c.Version), CacheControl: noStore}}, nil
}
