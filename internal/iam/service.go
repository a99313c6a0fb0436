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
	"github.com/saasplatform/saas/internal/platform/ttlcache"
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
	known    *ttlcache.Cache[uuid.UUID, struct{}] // tenants Config Vault said exist, for a short while
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
		users: users{usersClient}, vault: vault{vaultClient}, known: ttlcache.New[uuid.UUID, struct{}](tenantExistsTTL), verifier: opts.Verifier,
		publicURL: strings.TrimRight(opts.PublicURL, "/"), issuerPrefix: authn.DefaultIssuerPrefix(opts.PublicURL),
		platform: opts.PlatformTenantID, ttl: opts.AccessTokenTTL, trustedProxies: opts.TrustedProxies,
	}, nil
}

// Purge deletes refresh tokens past their lifetimes and forgotten sign-in
// attempts, and reports how many rows went. Any replica may call it
// periodically; until then such rows are merely ignored. Each purge is
// independent of the other: both run, and the errors are joined.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	tokens, tokensErr := s.refresh.Purge(ctx)
	attempts, attemptsErr := s.throttle.Purge(ctx)
	return tokens + attempts, errors.Join(tokensErr, attemptsErr)
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

// Login signs a user in with email and password. Every cause of failure
// (unknown email, wrong password, disabled user, inactive tenant) is the same
// 401.
//
// The attempt is counted by the throttle before UAM checks the password, in
// the step that refuses it while a block is in force, so that concurrent
// guesses cannot all pass a check made before any of them failed. Only a right
// password takes it back; any other end, a 503 included, leaves it counted:
// UAM may have checked the password before the answer was lost, and an
// attacker able to overload UAM must not guess for free.
func (s *Service) Login(ctx context.Context, in LoginInput) (Tokens, error) {
	tenantID := s.platform
	if in.TenantID != nil {
		tenantID = *in.TenantID
	}
	attempt := Attempt{TenantID: tenantID, Account: in.Email, Address: in.Address}
	wait, err := s.throttle.Admit(ctx, attempt)
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
	// The session keeps UAM's security stamp, so that a refresh notices
	// when the user's sessions were ended since.
	at.RefreshToken, err = s.refresh.Issue(ctx, Session{TenantID: tenantID, Subject: UserSubject(acc.UserID),
		SecurityStamp: acc.SecurityStamp}, s.refresh.now())
	if err != nil {
		return Tokens{}, err
	}
	logins.WithLabelValues(loginSucceeded).Inc()
	tokensIssued.WithLabelValues(grantPassword).Inc()
	return at, nil
}

// Refresh exchanges a refresh token for new tokens (POST /auth/refresh and
// the refresh_token grant). The user is read from UAM again: a user who is
// gone, disabled or locked ends every session; a security stamp other than
// the one seen at sign-in ends the session, because the password changed or
// the user was disabled or locked since (even if active again by now); and
// changed permissions reach the new access token. requested narrows the new
// access token to those permissions (nil: all the user holds now); one the
// user does not hold is invalid_scope.
//
// The refresh token is spent last, once the new access token is signed: a
// failure before leaves the client's token usable, so a retry is not
// mistaken for reuse.
func (s *Service) Refresh(ctx context.Context, token string, requested []string) (Tokens, error) {
	g, err := s.refresh.Lookup(ctx, token)
	if err != nil {
		return Tokens{}, err
	}
	acc, state, err := s.session(ctx, g)
	switch {
	case err != nil:
		return Tokens{}, err
	case state == userGone:
		return Tokens{}, ended(s.refresh.RevokeUser(ctx, g.TenantID, g.UserID))
	case state == stampMoved:
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

// sessionState says whether a session may go on.
type sessionState int

const (
	sessionLive sessionState = iota
	// userGone: the user is deleted, disabled or locked; none of its
	// sessions may go on.
	userGone
	// stampMoved: the user's security stamp moved since the session began
	// (password changed, access taken away and given back).
	stampMoved
)

// session reads the user of a session from UAM: what they may do now, and
// whether the session may go on. Refresh and introspection judge alike.
func (s *Service) session(ctx context.Context, g Grant) (account, sessionState, error) {
	acc, alive, err := s.activeUser(ctx, g.TenantID, g.UserID)
	switch {
	case err != nil:
		return account{}, sessionLive, err
	case !alive:
		return account{}, userGone, nil
	case !sameInstant(acc.SecurityStamp, g.SecurityStamp):
		return account{}, stampMoved, nil
	}
	return acc, sessionLive, nil
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
