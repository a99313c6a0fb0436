package iam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// accessClaims is an access token's payload, as internal/platform/authn's
// claims.go specifies it (RFC 9068 with the platform's claims).
type accessClaims struct {
	Iss       string            `json:"iss"`
	Sub       string            `json:"sub"`
	SubType   string            `json:"sub_type"`
	ClientID  string            `json:"client_id"`
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

// SignInClientID is the client_id of users' access tokens, which RFC 9068
// §2.2 requires: the platform's own sign-in (/auth/login, /auth/refresh and
// the refresh_token grant), a public client registered nowhere. It is no
// UUID, so it never names a registered client.
const SignInClientID = "sign-in"

// issuer is the tenant's issuer URL.
func (s *Service) issuer(tenantID uuid.UUID) string { return s.issuerPrefix + tenantID.String() }

// mayHold reports whether an access token of the tenant may carry
// permission, whatever roles or a client's registration say: never one that
// only the platform's services hold, and a platform-level one (it acts
// across tenants) only in the platform tenant.
func (s *Service) mayHold(tenantID uuid.UUID, permission string) bool {
	return !authn.IsServiceOnly(permission) && (tenantID == s.platform || !authn.IsPlatformLevel(permission))
}

// grantable keeps the permissions an access token of the tenant may carry.
func (s *Service) grantable(tenantID uuid.UUID, perms []string) []string {
	return slices.DeleteFunc(slices.Clone(perms), func(p string) bool { return !s.mayHold(tenantID, p) })
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
			if !held || !s.mayHold(acc.TenantID, r) {
				return Tokens{}, oauthFail(errInvalidScope, "the session does not hold "+r)
			}
		}
		keep = func(p string) bool { return slices.Contains(requested, p) }
	}
	drop := func(p string) bool { return !keep(p) }
	tenantWide := slices.DeleteFunc(s.grantable(acc.TenantID, acc.TenantWide), drop)
	var sites map[string]string
	for site, perms := range acc.Sites {
		perms = slices.DeleteFunc(s.grantable(acc.TenantID, perms), drop)
		if len(perms) == 0 {
			continue
		}
		if sites == nil {
			sites = map[string]string{}
		}
		sites[site.String()] = strings.Join(perms, " ")
	}
	return s.sign(ctx, acc.TenantID, accessClaims{Sub: acc.UserID.String(), SubType: authn.SubTypeUser, ClientID: SignInClientID,
		Scope: strings.Join(tenantWide, " "), SiteScope: sites, Roles: acc.Roles})
}

// clientToken signs a machine client's access token for scope.
func (s *Service) clientToken(ctx context.Context, c Client, scope []string) (Tokens, error) {
	id := c.ID.String()
	return s.sign(ctx, c.TenantID, accessClaims{Sub: id, SubType: authn.SubTypeClient, ClientID: id,
		Scope: strings.Join(s.grantable(c.TenantID, scope), " ")})
}

// errTokenTooLarge is the cause of every refusal to issue an access token
// larger than authn.MaxTokenSize, which every service refuses unread: better
// no token than one that fails everywhere. A client's scopes are bounded so
// that its tokens fit (maxClientScopeBytes); a user's grow with every site
// the user holds a role on, so theirs may not.
var errTokenTooLarge = errors.New("access token too large")

func tokenTooLarge(size int) error {
	return &problem.Error{Kind: problem.KindUnprocessable, Err: errTokenTooLarge, Detail: fmt.Sprintf(
		"the access token would take at least %d bytes, more than the %d every service accepts: it would carry too many permissions or sites",
		size, authn.MaxTokenSize)}
}

// sign completes the claims (issuer, audience, times, id) and has Config
// Vault sign them with the tenant's key. A token that cannot fit
// authn.MaxTokenSize is refused: before signing when the payload alone is
// too large, else once its signature's size is known.
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
	// header "." payload "." signature, each at least one character.
	if least := base64.RawURLEncoding.EncodedLen(len(payload)) + 4; least > authn.MaxTokenSize {
		return Tokens{}, tokenTooLarge(least)
	}
	token, err := s.vault.sign(ctx, tenantID, payload)
	if err != nil {
		return Tokens{}, err
	}
	if len(token) > authn.MaxTokenSize {
		return Tokens{}, tokenTooLarge(len(token))
	}
	return Tokens{AccessToken: token, ExpiresIn: int(s.ttl / time.Second), Scope: c.Scope}, nil
}
