package authn

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// MaxTokenSize bounds an access token; longer ones are refused unparsed.
const MaxTokenSize = 8 << 10

// Defaults of Options.
const (
	DefaultSkew               = 30 * time.Second
	DefaultMaxAge             = 60 * time.Second
	DefaultMinRefreshInterval = 5 * time.Second
	DefaultMaxTenants         = 10_000
	DefaultFetchTimeout       = 5 * time.Second
	maxSkew                   = 5 * time.Minute
)

// Options configure a Verifier. Keys, Audience and either IssuerPrefix or
// both issuer functions are required; zero durations and sizes take the
// defaults.
type Options struct {
	// Keys fetches a tenant's JWKS (Config Vault's
	// GET /config-vault/v1/tenants/{tenant_id}/jwks.json).
	Keys KeySource

	// Audience must be one of the token's aud values.
	Audience string

	// IssuerPrefix is what precedes the tenant id in every tenant's issuer:
	// tenant T's issuer is IssuerPrefix + T (canonical UUID), for example
	// "https://api.example.com/iam/v1/tenants/" (see DefaultIssuerPrefix).
	IssuerPrefix string
	// TenantOfIssuer and IssuerOf replace the IssuerPrefix mapping; set both
	// or neither. TenantOfIssuer names the tenant whose issuer iss claims to
	// be (the token is not verified yet: it only selects the key set);
	// IssuerOf gives that tenant's exact issuer, which iss must then equal.
	TenantOfIssuer func(iss string) (uuid.UUID, bool)
	IssuerOf       func(tenant uuid.UUID) string

	// Skew is the leeway for nbf and iat in the future (clocks differ a
	// little). Zero means DefaultSkew, a negative value none; at most 5 min.
	// exp has no leeway.
	Skew time.Duration
	// MaxAge is how long a fetched key set is used; a key removed from the
	// JWKS (revoked) stops verifying at most MaxAge after. Default 60 s.
	MaxAge time.Duration
	// MinRefreshInterval is the least time between two fetches for one
	// tenant caused by an unknown kid or after a failed fetch. Default 5 s.
	MinRefreshInterval time.Duration
	// MaxTenants bounds the cached key sets; the least recently used goes
	// first. Default 10,000.
	MaxTenants int
	// FetchTimeout bounds one fetch of a key set. Default 5 s.
	FetchTimeout time.Duration
	// TokenCacheSize bounds the tokens remembered as verified (by their
	// SHA-256, until their exp or until their key set is fetched again,
	// whichever comes first), which then cost no signature verification.
	// Zero means DefaultTokenCacheSize, a negative value no cache.
	TokenCacheSize int

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultIssuerPrefix is the IssuerPrefix for the IAM service at baseURL
// (such as "https://api.example.com"): tenant issuers are
// <baseURL>/iam/v1/tenants/<tenant_id>.
func DefaultIssuerPrefix(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + "/iam/v1/tenants/"
}

// Verifier verifies access tokens. It is safe for concurrent use; create one
// per process and share it.
type Verifier struct {
	audience       string
	tenantOfIssuer func(string) (uuid.UUID, bool)
	issuerOf       func(uuid.UUID) string
	skew           time.Duration
	now            func() time.Time
	keys           *keyCache
	tokens         *tokenCache // nil: none
}

// New returns a Verifier for opts.
func New(opts Options) (*Verifier, error) {
	if opts.Keys == nil {
		return nil, errors.New("authn: Options.Keys is required")
	}
	if opts.Audience == "" {
		return nil, errors.New("authn: Options.Audience is required")
	}
	v := &Verifier{audience: opts.Audience, now: opts.Now}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case opts.TenantOfIssuer != nil && opts.IssuerOf != nil:
		v.tenantOfIssuer, v.issuerOf = opts.TenantOfIssuer, opts.IssuerOf
	case opts.TenantOfIssuer != nil || opts.IssuerOf != nil:
		return nil, errors.New("authn: set both Options.TenantOfIssuer and Options.IssuerOf, or neither")
	case opts.IssuerPrefix == "":
		return nil, errors.New("authn: Options.IssuerPrefix is required")
	default:
		prefix := opts.IssuerPrefix
		v.tenantOfIssuer = func(iss string) (uuid.UUID, bool) {
			rest, ok := strings.CutPrefix(iss, prefix)
			if !ok {
				return uuid.Nil, false
			}
			return parseCanonicalUUID(rest)
		}
		v.issuerOf = func(t uuid.UUID) string { return prefix + t.String() }
	}
	switch {
	case opts.Skew == 0:
		v.skew = DefaultSkew
	case opts.Skew < 0:
		v.skew = 0
	case opts.Skew > maxSkew:
		return nil, fmt.Errorf("authn: Options.Skew %s is over %s", opts.Skew, maxSkew)
	default:
		v.skew = opts.Skew
	}
	if opts.MaxAge < 0 || opts.MinRefreshInterval < 0 || opts.MaxTenants < 0 || opts.FetchTimeout < 0 {
		return nil, errors.New("authn: durations and sizes in Options must not be negative")
	}
	v.keys = &keyCache{
		src:          opts.Keys,
		now:          v.now,
		maxAge:       orDefault(opts.MaxAge, DefaultMaxAge),
		minRefresh:   orDefault(opts.MinRefreshInterval, DefaultMinRefreshInterval),
		fetchTimeout: orDefault(opts.FetchTimeout, DefaultFetchTimeout),
		max:          orDefault(opts.MaxTenants, DefaultMaxTenants),
	}
	v.tokens = newTokenCache(orDefault(opts.TokenCacheSize, DefaultTokenCacheSize))
	return v, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// header is the JOSE header as far as it is read; every other member
// (jku, x5u, jwk, x5c, ...) is ignored.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

var b64 = base64.RawURLEncoding.Strict()

// Verify checks token and returns its claims. Every failure to verify is a
// *problem.Error of KindUnauthorized with a generic detail and the precise
// reason in Err; a key set that cannot be fetched (with none cached) is
// KindUnavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			return Claims{}, err
		}
		return Claims{}, invalidToken(err)
	}
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxTokenSize {
		return Claims{}, fmt.Errorf("%w: %d bytes, over %d", errTooLarge, len(token), MaxTokenSize)
	}
	sum := sha256.Sum256([]byte(token))
	if c, ok := v.tokens.get(sum, v.now(), v.keys); ok {
		return c, nil
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") || h64 == "" || p64 == "" {
		return Claims{}, fmt.Errorf("%w: not a compact JWS of three parts", errMalformed)
	}

	hb, err := b64.DecodeString(h64)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", errMalformed, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || hb[0] != '{' {
		return Claims{}, fmt.Errorf("%w: header is not a JSON object", errMalformed)
	}
	if !validTyp(h.Typ) {
		return Claims{}, fmt.Errorf("%w: typ %s", errType, short(h.Typ))
	}
	alg, ok := algorithms[h.Alg]
	if !ok {
		return Claims{}, fmt.Errorf("%w: alg %s is not allowed", errAlgorithm, short(h.Alg))
	}
	if len(h.Crit) > 0 {
		return Claims{}, fmt.Errorf("%w: crit is not supported", errMalformed)
	}
	if h.Kid == "" {
		return Claims{}, fmt.Errorf("%w: no kid", errMalformed)
	}
	sig, err := b64.DecodeString(s64)
	if err != nil || len(sig) == 0 {
		return Claims{}, fmt.Errorf("%w: no or undecodable signature", errMalformed)
	}
	pb, err := b64.DecodeString(p64)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: payload: %v", errMalformed, err)
	}
	// The payload is not authentic yet: iss only selects the key set, and
	// every claim is checked again once the signature is.
	raw, err := decodeClaims(pb)
	if err != nil {
		return Claims{}, err
	}
	tenant, ok := v.tenantOfIssuer(raw.Iss)
	if !ok {
		return Claims{}, fmt.Errorf("%w: iss %s names no tenant", errIssuer, short(raw.Iss))
	}

	key, set, err := v.keys.key(ctx, tenant, h.Kid)
	if err != nil {
		return Claims{}, err
	}
	if key.alg != alg {
		return Claims{}, fmt.Errorf("%w: key %s is for %s, the token says %s", errKeyAlgorithm, short(h.Kid), key.alg.name, alg.name)
	}
	if err := alg.verifier.Verify([]byte(token[:len(h64)+1+len(p64)]), sig, key.pub); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", errSignature, err)
	}
	now := v.now()
	c, err := v.validate(raw, tenant, now)
	if err == nil {
		v.tokens.put(sum, c, set, now)
	}
	return c, err
}

func validTyp(typ string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, TokenType)
}

// validate checks the claims of a token whose signature holds.
func (v *Verifier) validate(raw *rawClaims, tenant uuid.UUID, now time.Time) (Claims, error) {
	if want := v.issuerOf(tenant); raw.Iss != want {
		return Claims{}, fmt.Errorf("%w: iss %s is not %s", errIssuer, short(raw.Iss), short(want))
	}
	tid, ok := parseCanonicalUUID(raw.TenantID)
	if !ok || tid != tenant {
		return Claims{}, fmt.Errorf("%w: tenant_id %s is not the issuer's tenant %s", errTenant, short(raw.TenantID), tenant)
	}
	if !slices.Contains(raw.Aud, v.audience) {
		return Claims{}, fmt.Errorf("%w: aud %q lacks %q", errAudience, []string(raw.Aud), v.audience)
	}
	if !raw.Exp.set {
		return Claims{}, fmt.Errorf("%w: no exp", errClaims)
	}
	if !now.Before(raw.Exp.t) {
		return Claims{}, fmt.Errorf("%w: at %s", errExpired, raw.Exp.t.UTC().Format(time.RFC3339))
	}
	if !raw.Iat.set {
		return Claims{}, fmt.Errorf("%w: no iat", errClaims)
	}
	if raw.Iat.t.After(now.Add(v.skew)) {
		return Claims{}, fmt.Errorf("%w: iat %s is in the future", errNotYetValid, raw.Iat.t.UTC().Format(time.RFC3339))
	}
	if !raw.Iat.t.Before(raw.Exp.t) {
		return Claims{}, fmt.Errorf("%w: exp is not after iat", errClaims)
	}
	if raw.Nbf.set && raw.Nbf.t.After(now.Add(v.skew)) {
		return Claims{}, fmt.Errorf("%w: nbf %s is in the future", errNotYetValid, raw.Nbf.t.UTC().Format(time.RFC3339))
	}
	if raw.Jti == "" {
		return Claims{}, fmt.Errorf("%w: no jti", errClaims)
	}
	if raw.Sub == "" {
		return Claims{}, fmt.Errorf("%w: no sub", errClaims)
	}
	c := Claims{
		Issuer:      raw.Iss,
		TenantID:    tenant,
		Subject:     raw.Sub,
		SubjectType: raw.SubType,
		ClientID:    raw.ClientID,
		Audience:    raw.Aud,
		Roles:       raw.Roles,
		ID:          raw.Jti,
		IssuedAt:    raw.Iat.t,
		ExpiresAt:   raw.Exp.t,
	}
	if raw.Nbf.set {
		c.NotBefore = raw.Nbf.t
	}
	switch raw.SubType {
	case SubTypeUser:
		uid, ok := parseCanonicalUUID(raw.Sub)
		if !ok {
			return Claims{}, fmt.Errorf("%w: a user's sub %s is not a UUID", errClaims, short(raw.Sub))
		}
		c.UserID = &uid
	case SubTypeClient:
		if raw.ClientID != raw.Sub {
			return Claims{}, fmt.Errorf("%w: a client's client_id %s is not its sub", errClaims, short(raw.ClientID))
		}
	default:
		return Claims{}, fmt.Errorf("%w: sub_type %s is neither %q nor %q", errClaims, short(raw.SubType), SubTypeUser, SubTypeClient)
	}
	var err error
	if c.Scopes, err = parseScope(raw.Scope); err != nil {
		return Claims{}, fmt.Errorf("%w: scope: %v", errClaims, err)
	}
	if len(raw.SiteScope) > 0 {
		c.SiteScopes = make(map[uuid.UUID][]string, len(raw.SiteScope))
		for site, scope := range raw.SiteScope {
			id, ok := parseCanonicalUUID(site)
			if !ok {
				return Claims{}, fmt.Errorf("%w: site_scope key %s is not a UUID", errClaims, short(site))
			}
			if c.SiteScopes[id], err = parseScope(scope); err != nil {
				return Claims{}, fmt.Errorf("%w: site_scope: %v", errClaims, err)
			}
		}
	}
	return c, nil
}
