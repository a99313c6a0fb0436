package iam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// DefaultAccessTokenTTL is the lifetime of access tokens: short, because
// they cannot be revoked (RFC 9068 tokens are verified without asking IAM).
const DefaultAccessTokenTTL = 15 * time.Minute

// maxAccessTokenTTL bounds the configurable lifetime: a day is already
// long for a token nobody can revoke.
const maxAccessTokenTTL = 24 * time.Hour

// Options configure the service.
type Options struct {
	// PublicURL is the platform's base URL as clients reach it, such as
	// "http://localhost:8000": tenant T's issuer is
	// authn.DefaultIssuerPrefix(PublicURL)+T, and every access token's
	// audience is PublicURL without a trailing slash.
	PublicURL string
	// PlatformTenantID is the tenant a login without tenant_id signs into.
	PlatformTenantID uuid.UUID
	// AccessTokenTTL is the access tokens' lifetime (0: DefaultAccessTokenTTL).
	AccessTokenTTL time.Duration
	Refresh        RefreshConfig
	Throttle       ThrottleConfig
	// Verifier is the platform's access-token verifier: introspection asks
	// it whether a token is active.
	Verifier *authn.Verifier
	// TrustedProxies are the networks of the proxies in front of the
	// service, whose X-Forwarded-For names the client for sign-in
	// throttling. Empty: the connection's peer is the client.
	TrustedProxies []netip.Prefix
}

// Service holds the IAM use cases: signing users and machine clients in,
// their sessions, the clients registry, and what the tenants' issuers
// publish.
type Service struct {
	q        *db.Queries
	refresh  *RefreshTokens
	throttle *Throttle
	users    users
	vault    vault
	verifier *authn.Verifier

	publicURL    string // without a trailing slash; also the audience
	issuerPrefix string
	platform     uuid.UUID
	ttl          time.Duration
	// trustedProxies: see Options.TrustedProxies.
	trustedProxies []netip.Prefix
}

// NewService builds the service over its database and the clients of UAM
// and Config Vault, which carry IAM's own service credential.
func NewService(pool *pgxpool.Pool, usersClient *uamclient.ClientWithResponses, vaultClient *cvclient.ClientWithResponses, opts Options) (*Service, error) {
	if pool == nil || usersClient == nil || vaultClient == nil || opts.Verifier == nil {
		return nil, errors.New("iam: the pool, both clients and Options.Verifier are required")
	}
	if u, err := url.Parse(opts.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("iam: Options.PublicURL %q is not an absolute http(s) URL", opts.PublicURL)
	}
	if opts.PlatformTenantID == uuid.Nil {
		return nil, errors.New("iam: Options.PlatformTenantID is required")
	}
	if opts.AccessTokenTTL == 0 {
		opts.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if opts.AccessTokenTTL < time.Second || opts.AccessTokenTTL > maxAccessTokenTTL {
		return nil, fmt.Errorf("iam: Options.AccessTokenTTL %v is not between 1s and %v", opts.AccessTokenTTL, maxAccessTokenTTL)
	}
	onReuse := opts.Refresh.OnReuse
	opts.Refresh.OnReuse = func(ctx context.Context, tenantID, familyID uuid.UUID) {
		refreshReuseDetected.Inc()
		if onReuse != nil {
			onReuse(ctx, tenantID, familyID)
		}
	}
	refresh, err := NewRefreshTokens(pool, opts.Refresh)
	if err != nil {
		return nil, err
	}
	throttle, err := NewThrottle(pool, opts.Throttle)
	if err != nil {
		return nil, err
	}
	return &Service{
		q: db.New(pool), refresh: refresh, throttle: throttle,
		users: users{usersClient}, vault: vault{vaultClient}, verifier: opts.Verifier,
		publicURL: strings.TrimRight(opts.PublicURL, "/"), issuerPrefix: authn.DefaultIssuerPrefix(opts.PublicURL),
		platform: opts.PlatformTenantID, ttl: opts.AccessTokenTTL, trustedProxies: opts.TrustedProxies,
	}, nil
}

// Purge deletes refresh tokens past their lifetimes and forgotten sign-in
// failures, and reports how many rows went. Any replica may call it
// periodically; until then such rows are merely ignored.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	tokens, err := s.refresh.Purge(ctx)
	if err != nil {
		return tokens, err
	}
	failures, err := s.throttle.Purge(ctx)
	return tokens + failures, err
}

// Tokens is what a sign-in or a refresh answers.
type Tokens struct {
	AccessToken string
	ExpiresIn   int // seconds
	// Scope is the access token's tenant-wide permissions, space-separated.
	Scope string
	// RefreshToken is empty for the client-credentials grant.
	RefreshToken string
}

// LoginInput is a sign-in attempt.
type LoginInput struct {
	// TenantID is nil for the platform tenant.
	TenantID *uuid.UUID
	Email    string
	Password string
	// Address is the client's address, for throttling (invalid: unknown).
	Address netip.Addr
}

// Login signs a user in with email and password. Failed attempts are
// throttled per account and per address; every cause of failure (unknown
// email, wrong password, disabled user, inactive tenant) is the same 401.
func (s *Service) Login(ctx context.Context, in LoginInput) (Tokens, error) {
	tenantID := s.platform
	if in.TenantID != nil {
		tenantID = *in.TenantID
	}
	attempt := Attempt{TenantID: tenantID, Account: in.Email, Address: in.Address}
	wait, err := s.throttle.Check(ctx, attempt)
	if err != nil {
		return Tokens{}, err
	}
	if wait > 0 {
		logins.WithLabelValues(loginThrottled).Inc()
		return Tokens{}, RateLimited(wait)
	}
	acc, err := s.users.check(ctx, tenantID, in.Email, in.Password)
	if errors.Is(err, errBadCredentials) {
		logins.WithLabelValues(loginFailed).Inc()
		if _, ferr := s.throttle.Failure(ctx, attempt); ferr != nil {
			return Tokens{}, ferr
		}
		return Tokens{}, err
	}
	if err != nil {
		return Tokens{}, err
	}
	if err := s.throttle.Success(ctx, attempt); err != nil {
		return Tokens{}, err
	}
	// Signed before the refresh token is stored: when Config Vault cannot
	// sign, no session is left behind.
	at, err := s.userToken(ctx, acc, nil)
	if errors.Is(err, errNoSigningTenant) {
		logins.WithLabelValues(loginFailed).Inc()
		return Tokens{}, errBadCredentials
	}
	if err != nil {
		return Tokens{}, err
	}
	at.RefreshToken, err = s.refresh.Issue(ctx, Session{TenantID: tenantID, Subject: UserSubject(acc.UserID),
		Scope: at.Scope, PasswordChangedAt: acc.PasswordChangedAt}, s.refresh.now())
	if err != nil {
		return Tokens{}, err
	}
	logins.WithLabelValues(loginSucceeded).Inc()
	tokensIssued.WithLabelValues(grantPassword).Inc()
	return at, nil
}

// Refresh exchanges a refresh token for new tokens (POST /auth/refresh and
// the refresh_token grant). The user is read from UAM again: a user who is
// gone, disabled or locked ends every session, a changed password ends the
// sessions begun before it, and changed permissions reach the new access
// token. requested narrows the new access token to those permissions (nil:
// all the user holds now); one the user does not hold is invalid_scope.
//
// The refresh token is spent last, once the new access token is signed: a
// failure before leaves the client's token usable, so a retry is not
// mistaken for reuse.
func (s *Service) Refresh(ctx context.Context, token string, requested []string) (Tokens, error) {
	g, err := s.refresh.Lookup(ctx, token)
	if err != nil {
		return Tokens{}, err
	}
	if g.UserID == uuid.Nil {
		// Only sign-ins start families; a machine client signs in again
		// with its secret (RFC 6749 §4.4.3).
		return Tokens{}, invalidRefreshToken()
	}
	acc, err := s.users.grant(ctx, g.TenantID, g.UserID)
	switch {
	case problem.Is(err, problem.KindNotFound) || err == nil && !acc.Active:
		return Tokens{}, ended(s.refresh.RevokeUser(ctx, g.TenantID, g.UserID))
	case err != nil:
		return Tokens{}, err
	case !sameInstant(acc.PasswordChangedAt, g.PasswordChangedAt):
		return Tokens{}, ended(s.refresh.Revoke(ctx, token))
	}
	at, err := s.userToken(ctx, acc, requested)
	if errors.Is(err, errNoSigningTenant) {
		return Tokens{}, invalidRefreshToken()
	}
	if err != nil {
		return Tokens{}, err
	}
	if _, at.RefreshToken, err = s.refresh.Rotate(ctx, token); err != nil {
		return Tokens{}, err
	}
	tokensIssued.WithLabelValues(grantRefreshToken).Inc()
	return at, nil
}

// ended is the answer once sessions were revoked because the user may no
// longer have them: the same as for any unusable refresh token.
func ended(revokeErr error) error {
	if revokeErr != nil {
		return revokeErr
	}
	return invalidRefreshToken()
}

func sameInstant(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// Logout ends the session of a refresh token, whatever its state; unknown
// tokens are no error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.refresh.Revoke(ctx, token)
}
