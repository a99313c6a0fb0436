package iam

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
)

// accessClaims is an access token's payload, as internal/platform/authn's
// claims.go specifies it (RFC 9068 with the platform's claims).
type accessClaims struct {
	Iss       string            `json:"iss"`
	Sub       string            `json:"sub"`
	SubType   string            `json:"sub_type"`
	ClientID  string            `json:"client_id,omitempty"`
	Aud       string            `json:"aud"`
	Exp       int64             `json:"exp"`
	Iat       int64             `json:"iat"`
	Nbf       int64             `json:"nbf"`
	Jti       string            `json:"jti"`
	TenantID  string            `json:"tenant_id"`
	Scope     string            `json:"scope,omitempty"`
	SiteScope map[string]string `json:"site_scope,omitempty"`
	Roles     []string          `json:"roles,omitempty"`
}

// issuer is the tenant's issuer URL.
func (s *Service) issuer(tenantID uuid.UUID) string { return s.issuerPrefix + tenantID.String() }

// grantable drops the permissions that only the platform's services hold:
// whatever roles or a client's registration say, no access token carries
// them.
func grantable(perms []string) []string {
	return slices.DeleteFunc(slices.Clone(perms), authn.IsServiceOnly)
}

// userToken signs a user's access token: tenant-wide permissions in scope,
// those a site adds in site_scope. requested, when not nil, keeps only those
// permissions; one the user does not hold anywhere is invalid_scope.
func (s *Service) userToken(ctx context.Context, acc account, requested []string) (Tokens, error) {
	keep := func(string) bool { return true }
	if requested != nil {
		for _, r := range requested {
			held := slices.Contains(acc.TenantWide, r)
			for _, perms := range acc.Sites {
				held = held || slices.Contains(perms, r)
			}
			if !held || authn.IsServiceOnly(r) {
				return Tokens{}, oauthFail(errInvalidScope, "the session does not hold "+r)
			}
		}
		keep = func(p string) bool { return slices.Contains(requested, p) }
	}
	tenantWide := slices.DeleteFunc(grantable(acc.TenantWide), func(p string) bool { return !keep(p) })
	var sites map[string]string
	for site, perms := range acc.Sites {
		perms = slices.DeleteFunc(grantable(perms), func(p string) bool { return !keep(p) })
		if len(perms) == 0 {
			continue
		}
		if sites == nil {
			sites = map[string]string{}
		}
		sites[site.String()] = strings.Join(perms, " ")
	}
	return s.sign(ctx, acc.TenantID, accessClaims{Sub: acc.UserID.String(), SubType: authn.SubTypeUser,
		Scope: strings.Join(tenantWide, " "), SiteScope: sites, Roles: acc.Roles})
}

// clientToken signs a machine client's access token for scope.
func (s *Service) clientToken(ctx context.Context, c Client, scope []string) (Tokens, error) {
	id := c.ID.String()
	return s.sign(ctx, c.TenantID, accessClaims{Sub: id, SubType: authn.SubTypeClient, ClientID: id,
		Scope: strings.Join(grantable(scope), " ")})
}

// sign completes the claims (issuer, audience, times, id) and has Config
// Vault sign them with the tenant's key.
func (s *Service) sign(ctx context.Context, tenantID uuid.UUID, c accessClaims) (Tokens, error) {
	jti, err := uuid.NewV7()
	if err != nil {
		return Tokens{}, err
	}
	now := time.Now()
	c.Iss, c.Aud, c.TenantID, c.Jti = s.issuer(tenantID), s.publicURL, tenantID.String(), jti.String()
	c.Iat, c.Nbf, c.Exp = now.Unix(), now.Unix(), now.Add(s.ttl).Unix()
	payload, err := json.Marshal(c)
	if err != nil {
		return Tokens{}, err
	}
	token, err := s.vault.sign(ctx, tenantID, payload)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: token, ExpiresIn: int(s.ttl / time.Second), Scope: c.Scope}, nil
}
