package configvault

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/configvault"
	"github.com/saasplatform/saas/internal/platform/etag"
)

// Prefix is where the service's API lives; it is the spec's server URL.
const Prefix = "/config-vault/v1"

// jwksMaxAge bounds how long a revoked key may still verify in a client's cache.
const jwksMaxAge = "public, max-age=60"

// handlers adapts the generated strict server interface to the Service: they
// translate API <-> domain and call one method each. Errors are rendered as
// problem+json by the strict server's error handler.
type handlers struct{ svc *Service }

var _ api.StrictServerInterface = handlers{}

func tenantOut(t Tenant) api.Tenant {
	return api.Tenant{Id: t.ID, Name: t.Name, Domain: t.Domain, IsActive: t.IsActive, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func siteOut(s Site) api.Site {
	return api.Site{Id: s.ID, TenantId: s.TenantID, Name: s.Name, Domain: s.Domain, IsActive: s.IsActive, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// keyOut renders a key with its effective status (expired included) as of
// now. A stored JWK that does not decode is an internal error, as in jwksOut.
func (h handlers) keyOut(k SigningKey) (api.SigningKey, error) {
	var jwk api.JWK
	if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
		return api.SigningKey{}, fmt.Errorf("configvault: public JWK of key %s: %w", k.ID, err)
	}
	return api.SigningKey{Id: k.ID, TenantId: k.TenantID, SiteId: k.SiteID, Kid: k.Kid, Algorithm: api.KeyAlgorithm(k.Algorithm),
		KeySize: k.KeySize, PublicKey: k.PublicPEM, PublicJwk: jwk, Status: api.KeyStatus(k.StatusAt(h.svc.now())),
		ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}, nil
}

func (h handlers) keysOut(keys []SigningKey, next *string) (api.SigningKeyList, error) {
	list := api.SigningKeyList{Items: make([]api.SigningKey, len(keys)), NextCursor: next}
	for i, k := range keys {
		var err error
		if list.Items[i], err = h.keyOut(k); err != nil {
			return api.SigningKeyList{}, err
		}
	}
	return list, nil
}

// jwksOut renders a key set; it takes a service result and its error as they come.
func jwksOut(raw []json.RawMessage, err error) (api.JWKS, error) {
	if err != nil {
		return api.JWKS{}, err
	}
	set := api.JWKS{Keys: make([]api.JWK, len(raw))}
	for i, r := range raw {
		if err := json.Unmarshal(r, &set.Keys[i]); err != nil {
			return api.JWKS{}, fmt.Errorf("configvault: published JWK: %w", err)
		}
	}
	return set, nil
}

func location(kind string, id uuid.UUID) string { return Prefix + "/" + kind + "/" + id.String() }

// orTrue reads an optional is_active: absent means active. The HTTP layer
// does not fill in the spec's defaults, so the handlers apply them.
func orTrue(b *bool) bool { return b == nil || *b }

// Tenants

func (h handlers) CreateTenant(ctx context.Context, r api.CreateTenantRequestObject) (api.CreateTenantResponseObject, error) {
	t, err := h.svc.CreateTenant(ctx, NewTenant{Name: r.Body.Name, Domain: r.Body.Domain, IsActive: orTrue(r.Body.IsActive)})
	if err != nil {
		return nil, err
	}
	return api.CreateTenant201JSONResponse{Body: tenantOut(t), Headers: api.CreateTenant201ResponseHeaders{
		Location: location("tenants", t.ID), ETag: etag.Of(t.Version)}}, nil
}

func (h handlers) ListTenants(ctx context.Context, r api.ListTenantsRequestObject) (api.ListTenantsResponseObject, error) {
	items, next, err := h.svc.ListTenants(ctx, ListQuery{Cursor: r.Params.Cursor, Limit: r.Params.Limit}, r.Params.IsActive)
	if err != nil {
		return nil, err
	}
	return api.ListTenants200JSONResponse{Items: mapRows(items, tenantOut), NextCursor: next}, nil
}

func (h handlers) GetTenant(ctx context.Context, r api.GetTenantRequestObject) (api.GetTenantResponseObject, error) {
	t, err := h.svc.Tenant(ctx, r.TenantId)
	if err != nil {
		return nil, err
	}
	return api.GetTenant200JSONResponse{Body: tenantOut(t), Headers: api.GetTenant200ResponseHeaders{ETag: etag.Of(t.Version)}}, nil
}

func (h handlers) UpdateTenant(ctx context.Context, r api.UpdateTenantRequestObject) (api.UpdateTenantResponseObject, error) {
	t, err := h.svc.UpdateTenant(ctx, r.TenantId, Patch{Name: r.Body.Name, Domain: r.Body.Domain, IsActive: r.Body.IsActive}, r.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return api.UpdateTenant200JSONResponse{Body: tenantOut(t), Headers: api.UpdateTenant200ResponseHeaders{ETag: etag.Of(t.Version)}}, nil
}

func (h handlers) DeleteTenant(ctx context.Context, r api.DeleteTenantRequestObject) (api.DeleteTenantResponseObject, error) {
	if err := h.svc.DeleteTenant(ctx, r.TenantId, r.Params.IfMatch); err != nil {
		return nil, err
	}
	return api.DeleteTenant204Response{}, nil
}

func (h handlers) ListTenantSites(ctx context.Context, r api.ListTenantSitesRequestObject) (api.ListTenantSitesResponseObject, error) {
	items, next, err := h.svc.ListTenantSites(ctx, ListQuery{Cursor: r.Params.Cursor, Limit: r.Params.Limit}, r.TenantId, r.Params.IsActive)
	if err != nil {
		return nil, err
	}
	return api.ListTenantSites200JSONResponse{Items: mapRows(items, siteOut), NextCursor: next}, nil
}

func (h handlers) ListTenantKeys(ctx context.Context, r api.ListTenantKeysRequestObject) (api.ListTenantKeysResponseObject, error) {
	keys, next, err := h.svc.ListTenantKeys(ctx, ListQuery{Cursor: r.Params.Cursor, Limit: r.Params.Limit}, r.TenantId, (*KeyStatus)(r.Params.Status))
	if err != nil {
		return nil, err
	}
	list, err := h.keysOut(keys, next)
	if err != nil {
		return nil, err
	}
	return api.ListTenantKeys200JSONResponse(list), nil
}

func (h handlers) GetTenantActiveKey(ctx context.Context, r api.GetTenantActiveKeyRequestObject) (api.GetTenantActiveKeyResponseObject, error) {
	k, err := h.svc.TenantActiveKey(ctx, r.TenantId)
	if err != nil {
		return nil, err
	}
	body, err := h.keyOut(k)
	if err != nil {
		return nil, err
	}
	return api.GetTenantActiveKey200JSONResponse{Body: body, Headers: api.GetTenantActiveKey200ResponseHeaders{ETag: etag.Of(k.Version)}}, nil
}

func (h handlers) GetTenantJWKS(ctx context.Context, r api.GetTenantJWKSRequestObject) (api.GetTenantJWKSResponseObject, error) {
	set, err := jwksOut(h.svc.TenantJWKS(ctx, r.TenantId))
	if err != nil {
		return nil, err
	}
	return api.GetTenantJWKS200JSONResponse{Body: set, Headers: api.GetTenantJWKS200ResponseHeaders{CacheControl: jwksMaxAge}}, nil
}

// Sites

func (h handlers) CreateSite(ctx context.Context, r api.CreateSiteRequestObject) (api.CreateSiteResponseObject, error) {
	s, err := h.svc.CreateSite(ctx, NewSite{TenantID: r.Body.TenantId, Name: r.Body.Name, Domain: r.Body.Domain, IsActive: orTrue(r.Body.IsActive)})
	if err != nil {
		return nil, err
	}
	return api.CreateSite201JSONResponse{Body: siteOut(s), Headers: api.CreateSite201ResponseHeaders{
		Location: location("sites", s.ID), ETag: etag.Of(s.Version)}}, nil
}

func (h handlers) ListSites(ctx context.Context, r api.ListSitesRequestObject) (api.ListSitesResponseObject, error) {
	items, next, err := h.svc.ListSites(ctx, ListQuery{Cursor: r.Params.Cursor, Limit: r.Params.Limit}, r.Params.TenantId, r.Params.IsActive)
	if err != nil {
		return nil, err
	}
	return api.ListSites200JSONResponse{Items: mapRows(items, siteOut), NextCursor: next}, nil
}

func (h handlers) GetSite(ctx context.Context, r api.GetSiteRequestObject) (api.GetSiteResponseObject, error) {
	s, err := h.svc.Site(ctx, r.SiteId)
	if err != nil {
		return nil, err
	}
	return api.GetSite200JSONResponse{Body: siteOut(s), Headers: api.GetSite200ResponseHeaders{ETag: etag.Of(s.Version)}}, nil
}

func (h handlers) UpdateSite(ctx context.Context, r api.UpdateSiteRequestObject) (api.UpdateSiteResponseObject, error) {
	s, err := h.svc.UpdateSite(ctx, r.SiteId, Patch{Name: r.Body.Name, Domain: r.Body.Domain, IsActive: r.Body.IsActive}, r.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return api.UpdateSite200JSONResponse{Body: siteOut(s), Headers: api.UpdateSite200ResponseHeaders{ETag: etag.Of(s.Version)}}, nil
}

func (h handlers) DeleteSite(ctx context.Context, r api.DeleteSiteRequestObject) (api.DeleteSiteResponseObject, error) {
	if err := h.svc.DeleteSite(ctx, r.SiteId, r.Params.IfMatch); err != nil {
		return nil, err
	}
	return api.DeleteSite204Response{}, nil
}

func (h handlers) ListSiteKeys(ctx context.Context, r api.ListSiteKeysRequestObject) (api.ListSiteKeysResponseObject, error) {
	keys, next, err := h.svc.ListSiteKeys(ctx, ListQuery{Cursor: r.Params.Cursor, Limit: r.Params.Limit}, r.SiteId, (*KeyStatus)(r.Params.Status))
	if err != nil {
		return nil, err
	}
	list, err := h.keysOut(keys, next)
	if err != nil {
		return nil, err
	}
	return api.ListSiteKeys200JSONResponse(list), nil
}

func (h handlers) GetSiteActiveKey(ctx context.Context, r api.GetSiteActiveKeyRequestObject) (api.GetSiteActiveKeyResponseObject, error) {
	k, err := h.svc.SiteActiveKey(ctx, r.SiteId)
	if err != nil {
		return nil, err
	}
	body, err := h.keyOut(k)
	if err != nil {
		return nil, err
	}
	return api.GetSiteActiveKey200JSONResponse{Body: body, Headers: api.GetSiteActiveKey200ResponseHeaders{ETag: etag.Of(k.Version)}}, nil
}

func (h handlers) GetSiteJWKS(ctx context.Context, r api.GetSiteJWKSRequestObject) (api.GetSiteJWKSResponseObject, error) {
	set, err := jwksOut(h.svc.SiteJWKS(ctx, r.SiteId))
	if err != nil {
		return nil, err
	}
	return api.GetSiteJWKS200JSONResponse{Body: set, Headers: api.GetSiteJWKS200ResponseHeaders{CacheControl: jwksMaxAge}}, nil
}

// Keys

func (h handlers) CreateKey(ctx context.Context, r api.CreateKeyRequestObject) (api.CreateKeyResponseObject, error) {
	// Absent fields stay zero, which the service reads as its defaults.
	in := NewKey{TenantID: r.Body.TenantId, SiteID: r.Body.SiteId}
	if r.Body.Algorithm != nil {
		in.Algorithm = string(*r.Body.Algorithm)
	}
	if r.Body.KeySize != nil {
		size := int(*r.Body.KeySize)
		in.KeySize = &size
	}
	if r.Body.ExpiresInDays != nil {
		in.ExpiresInDays = *r.Body.ExpiresInDays
	}
	k, err := h.svc.CreateKey(ctx, in)
	if err != nil {
		return nil, err
	}
	body, err := h.keyOut(k)
	if err != nil {
		return nil, err
	}
	return api.CreateKey201JSONResponse{Body: body, Headers: api.CreateKey201ResponseHeaders{
		Location: location("keys", k.ID), ETag: etag.Of(k.Version)}}, nil
}

func (h handlers) GetKey(ctx context.Context, r api.GetKeyRequestObject) (api.GetKeyResponseObject, error) {
	k, err := h.svc.Key(ctx, r.Key)
	if err != nil {
		return nil, err
	}
	body, err := h.keyOut(k)
	if err != nil {
		return nil, err
	}
	return api.GetKey200JSONResponse{Body: body, Headers: api.GetKey200ResponseHeaders{ETag: etag.Of(k.Version)}}, nil
}

func (h handlers) DeleteKey(ctx context.Context, r api.DeleteKeyRequestObject) (api.DeleteKeyResponseObject, error) {
	if err := h.svc.DeleteKey(ctx, r.Key, r.Params.IfMatch); err != nil {
		return nil, err
	}
	return api.DeleteKey204Response{}, nil
}

func (h handlers) keyState(ctx context.Context, ref string, to KeyStatus, ifMatch *string) (api.KeyStateJSONResponse, error) {
	k, err := h.svc.SetKeyStatus(ctx, ref, to, ifMatch)
	if err != nil {
		return api.KeyStateJSONResponse{}, err
	}
	body, err := h.keyOut(k)
	if err != nil {
		return api.KeyStateJSONResponse{}, err
	}
	return api.KeyStateJSONResponse{Body: body, Headers: api.KeyStateResponseHeaders{ETag: etag.Of(k.Version)}}, nil
}

func (h handlers) ActivateKey(ctx context.Context, r api.ActivateKeyRequestObject) (api.ActivateKeyResponseObject, error) {
	resp, err := h.keyState(ctx, r.Key, KeyActive, r.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return api.ActivateKey200JSONResponse{KeyStateJSONResponse: resp}, nil
}

func (h handlers) DeactivateKey(ctx context.Context, r api.DeactivateKeyRequestObject) (api.DeactivateKeyResponseObject, error) {
	resp, err := h.keyState(ctx, r.Key, KeyInactive, r.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return api.DeactivateKey200JSONResponse{KeyStateJSONResponse: resp}, nil
}

func (h handlers) RevokeKey(ctx context.Context, r api.RevokeKeyRequestObject) (api.RevokeKeyResponseObject, error) {
	resp, err := h.keyState(ctx, r.Key, KeyRevoked, r.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return api.RevokeKey200JSONResponse{KeyStateJSONResponse: resp}, nil
}

// Internal

func (h handlers) SignToken(ctx context.Context, r api.SignTokenRequestObject) (api.SignTokenResponseObject, error) {
	in := TokenRequest{TenantID: r.TenantId, SiteID: r.Body.SiteId, Claims: r.Body.Claims}
	if r.Body.Typ != nil {
		in.Type = string(*r.Body.Typ)
	}
	t, err := h.svc.SignToken(ctx, in)
	if err != nil {
		return nil, err
	}
	return api.SignToken200JSONResponse{Body: api.SignedToken{Token: t.Token, Kid: t.Kid, Alg: api.KeyAlgorithm(t.Algorithm)},
		Headers: api.SignToken200ResponseHeaders{CacheControl: "no-store"}}, nil
}
