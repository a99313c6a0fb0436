package configvault

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

const (
	// MaxClaimsBytes bounds the claims of a token to sign, as compact JSON:
	// an access token travels in every request's Authorization header, and
	// 8 KiB is already more than most servers accept in one header line.
	MaxClaimsBytes = 8 << 10
	// TokenTypeAccess is the default typ of a signed token (RFC 9068).
	TokenTypeAccess = "at+jwt"
	// TokenTypeJWT is the typ of other tokens (RFC 7519 section 5.1).
	TokenTypeJWT = "JWT"

	// tokenKeyMargin is how long past a token's exp the key signing it must
	// stay unexpired (and so published): verifiers accept a token for a
	// little while past exp (clock skew leeway), and it must still verify.
	tokenKeyMargin = 5 * time.Minute
	// MaxTokenLifetimeDays bounds a token's exp. Tokens signed here are
	// access and ID tokens, which live minutes to hours (RFC 8725, RFC 9068:
	// short-lived); a month is generous. It is far below the lifetime of a
	// key created on first need (DefaultKeyLifetimeDays), so such a key
	// always outlives the token it is created for: a key is created when
	// none outlives the token, and then serves every token for most of a
	// year, never just the one request.
	MaxTokenLifetimeDays = 30
	maxTokenLifetime     = MaxTokenLifetimeDays * 24 * time.Hour
	// maxFirstKeyWait bounds the wait behind another request creating the
	// same tenant's key (which takes well under a millisecond): past it, 503.
	maxFirstKeyWait = 3 * time.Second
)

// firstKeySpec is the key created for a tenant that has no usable key when a
// token is to be signed: ES256 (P-256). Generating one takes microseconds, so
// a first sign never waits for an RSA generation slot, and signing with one
// costs tens of microseconds where RSA-2048 costs about a millisecond; that
// is what refreshing thousands of tokens a second needs. Every JOSE library
// verifies ES256, and its signatures (64 bytes) keep tokens short.
var firstKeySpec = keycrypto.Spec{Algorithm: keycrypto.ES256}

// TokenRequest is the input of SignToken.
type TokenRequest struct {
	TenantID uuid.UUID
	// SiteID, when set, asks for the site's own key, else its tenant's.
	SiteID *uuid.UUID
	// Claims is the JWT claims set, a JSON object.
	Claims json.RawMessage
	// Type is the typ header: TokenTypeAccess ("" means it) or TokenTypeJWT.
	Type string
}

// SignedToken is a compact JWS and the key that signed it.
type SignedToken struct {
	Token     string
	Kid       string
	Algorithm keycrypto.Algorithm
}

// SignToken signs claims as a JWT with the most specific usable key of the
// tenant: with a site, the site's own newest active key, else the tenant's
// newest active tenant-level key; without one, the tenant's. A usable key is
// active, unexpired and, when the claims carry exp, stays unexpired until
// tokenKeyMargin past it. A tenant without one gets a tenant-level ES256 key
// first, exactly once however many requests ask at the same time.
//
// The claims are signed as given, in compact form, except that tenant_id is
// always the tenant's: it is added when absent, and claims naming another
// tenant are refused. The header is alg, kid and typ, nothing else.
//
// The key is chosen by one query (which also reads its state), cached per
// owner for activeKeyTTL: a key revoked or deactivated through this process
// never signs once that request has been answered (the change drops the
// cached choice first); one revoked through another replica stops signing
// here within activeKeyTTL.
func (s *Service) SignToken(ctx context.Context, in TokenRequest) (SignedToken, error) {
	typ, err := parseTokenType(in.Type)
	if err != nil {
		return SignedToken{}, err
	}
	payload, validUntil, err := tokenClaims(in.Claims, in.TenantID, s.now())
	if err != nil {
		return SignedToken{}, err
	}
	owner := tenantOwner(in.TenantID)
	if in.SiteID != nil {
		owner = tenantSiteOwner(in.TenantID, *in.SiteID)
	}
	k, signer, err := s.signingKey(ctx, owner, validUntil)
	if err != nil {
		return SignedToken{}, err
	}
	token, err := keycrypto.SignJWT(signer, k.Algorithm, k.Kid, payload, typ)
	if err != nil {
		return SignedToken{}, fmt.Errorf("configvault: signing with key %s: %w", k.ID, err)
	}
	tokensSigned.WithLabelValues(string(k.Algorithm)).Inc()
	return SignedToken{Token: string(token), Kid: k.Kid, Algorithm: k.Algorithm}, nil
}

// signingKey finds the owner's usable key and its signer, creating a key for
// the tenant when there is none.
//
// The choice is cached per owner for activeKeyTTL (activeKeyCache): every
// change of a key, tenant or site through this process drops it before it
// is answered, so the query runs about once per owner and TTL.
func (s *Service) signingKey(ctx context.Context, o keyOwner, validUntil *time.Time) (*sealedKey, crypto.Signer, error) {
	k, gen := s.activeKeys.get(o, validUntil)
	if k != nil {
		signer, err := s.signers.get(k, s.keyring)
		return k, signer, err
	}
	k, state, err := s.store.activeSealedKey(ctx, s.store.q, o, validUntil)
	if err != nil {
		return nil, nil, err
	}
	if k != nil {
		signer, err := s.signers.get(k, s.keyring)
		if err == nil {
			s.activeKeys.put(o, k, gen)
		}
		return k, signer, err
	}
	if err := ownerCannotSign(o, state); err != nil {
		return nil, nil, err
	}
	return s.createFirstKey(ctx, o, validUntil)
}

// ownerCannotSign tells why an existing owner without a usable key cannot
// have one: it, or its tenant, is inactive. nil means a key may be created.
func ownerCannotSign(o keyOwner, state ownerState) error {
	switch {
	case !state.TenantIsActive:
		return problem.NotFound("tenant %s is inactive, so it signs nothing", *o.tenantID)
	case !state.SiteIsActive:
		return problem.NotFound("site %s is inactive, so it signs nothing", *o.siteID)
	}
	return nil
}

// createFirstKey creates the owner's tenant a tenant-level key when it still
// has no usable one, and returns the key to sign with.
//
// Exactly one key is created however many requests get here at once: each
// takes a transaction-scoped advisory lock on the tenant, then looks again,
// with a snapshot taken after the lock (READ COMMITTED), so it sees a key that
// the lock's previous holder committed and uses it. A unique index could not
// say "one usable key per tenant": usability depends on now() and on the
// token's exp, and administrators may keep several active keys (rotation
// overlap). The lock costs nothing to requests that find a key, and a
// waiter waits only while another request generates an ES256 key (well under
// a millisecond) and inserts it.
//
// The key is tenant-level even when a site asked: a site's own key is an
// administrator's choice, and the tenant's key serves every site of it (the
// site's JWKS publishes its tenant's keys).
func (s *Service) createFirstKey(ctx context.Context, o keyOwner, validUntil *time.Time) (*sealedKey, crypto.Signer, error) {
	var (
		key     *sealedKey
		created *keycrypto.Material
	)
	err := pg.InTx(ctx, s.store.pool, func(tx pgx.Tx) error {
		q := s.store.q.WithTx(tx)
		if err := q.SetLocalLockTimeout(ctx, fmt.Sprintf("%dms", s.firstKeyWait.Milliseconds())); err != nil {
			return err
		}
		if err := q.LockTenantKeyCreation(ctx, *o.tenantID); err != nil {
			return err
		}
		k, state, err := s.store.activeSealedKey(ctx, q, o, validUntil)
		switch {
		case err != nil:
			return err
		case k != nil: // another request created it meanwhile, or an administrator did
			key = k
			return nil
		}
		if err := ownerCannotSign(o, state); err != nil {
			return err
		}
		m, err := s.generateKey(ctx, firstKeySpec)
		if err != nil {
			return err
		}
		id := newID()
		ciphertext, masterKeyID, err := s.keyring.Seal(m.PrivateDER, id[:])
		clear(m.PrivateDER)
		if err != nil {
			return err
		}
		sk := sealedKey{
			SigningKey: SigningKey{
				ID: id, TenantID: *o.tenantID, Kid: m.Kid, Algorithm: firstKeySpec.Algorithm,
				PublicPEM: string(m.PublicPEM), PublicJWK: m.PublicJWK, Status: KeyActive,
				ExpiresAt: s.now().Add(DefaultKeyLifetimeDays * 24 * time.Hour).UTC().Truncate(time.Microsecond),
			},
			ciphertext: ciphertext, masterKeyID: masterKeyID,
		}
		stored, err := createKeyWith(ctx, q, sk)
		if err != nil {
			if ownerVanished(err) {
				return o.notFound() // deleted meanwhile
			}
			return err
		}
		sk.SigningKey = stored
		key, created = &sk, m
		return nil
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available: lock_timeout passed
			return nil, nil, &problem.Error{Kind: problem.KindUnavailable, RetryAfter: time.Second, Err: err,
				Detail: "another request is creating this tenant's signing key; retry"}
		}
		return nil, nil, classify(err)
	}
	if created == nil {
		signer, err := s.signers.get(key, s.keyring)
		return key, signer, err
	}
	keysCreated.WithLabelValues(string(firstKeySpec.Algorithm)).Inc()
	// The new key's signer is at hand: it needs no opening, only caching.
	return key, s.signers.put(key, created.Signer), nil
}

// ownerVanished reports the foreign key violation of a key whose tenant (or
// site) was deleted between the lookup and the insert.
func ownerVanished(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// parseTokenType validates the typ header asked for; "" means at+jwt.
func parseTokenType(typ string) (string, error) {
	switch typ {
	case "", TokenTypeAccess:
		return TokenTypeAccess, nil
	case TokenTypeJWT:
		return TokenTypeJWT, nil
	}
	return "", problem.Field("body.typ", "must be at+jwt or JWT")
}

// tokenClaims checks the claims of a token to sign and returns the payload:
// the claims in compact form, with tenant_id first when it was absent. It
// refuses what is not a JSON object of at most MaxClaimsBytes, a member given
// twice (verifiers would disagree about which one counts), a tenant_id other
// than the tenant's id as a string, and an exp that is not a NumericDate at
// most maxTokenLifetime ahead. validUntil is when the signing key must still
// be unexpired: tokenKeyMargin past exp, or nil without exp.
func tokenClaims(raw json.RawMessage, tenantID uuid.UUID, now time.Time) (payload []byte, validUntil *time.Time, err error) {
	var compact bytes.Buffer
	if !utf8.Valid(raw) || json.Compact(&compact, raw) != nil || !bytes.HasPrefix(compact.Bytes(), []byte("{")) {
		return nil, nil, problem.Field("body.claims", "must be a JSON object")
	}
	if compact.Len() > MaxClaimsBytes {
		return nil, nil, problem.Field("body.claims", fmt.Sprintf("must be at most %d bytes as compact JSON, not %d", MaxClaimsBytes, compact.Len()))
	}
	claims := compact.Bytes()
	members, err := topLevelMembers(claims)
	if err != nil {
		return nil, nil, err
	}
	tenant := tenantID.String()
	if v, ok := members["tenant_id"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || s != tenant {
			return nil, nil, problem.Field("body.claims.tenant_id", "must be the tenant of the path, "+tenant+", or absent")
		}
	} else {
		// Spliced in front, so the claims given stay byte for byte as they came.
		head := `{"tenant_id":"` + tenant + `"`
		if len(claims) > 2 { // not "{}"
			head += ","
		}
		claims = append([]byte(head), claims[1:]...)
	}
	if v, ok := members["exp"]; ok {
		exp, err := numericDate(v)
		if err != nil {
			return nil, nil, err
		}
		if exp.After(now.Add(maxTokenLifetime)) {
			return nil, nil, problem.Field("body.claims.exp", fmt.Sprintf("must be at most %d days ahead", MaxTokenLifetimeDays))
		}
		until := exp.Add(tokenKeyMargin)
		validUntil = &until
	}
	return claims, validUntil, nil
}

// topLevelMembers returns the members of a compact JSON object by name,
// refusing a name given twice.
func topLevelMembers(obj []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, problem.Field("body.claims", "must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, problem.Field("body.claims", "must be a JSON object")
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, problem.Field("body.claims", "must be a JSON object")
		}
		if _, dup := members[name]; dup {
			return nil, problem.Field("body.claims."+name, "is given more than once")
		}
		members[name] = v
	}
	return members, nil
}

// numericDate reads a JWT NumericDate: seconds since the epoch, a JSON number.
func numericDate(v json.RawMessage) (time.Time, error) {
	bad := problem.Field("body.claims.exp", "must be a NumericDate: seconds since 1970-01-01T00:00:00Z, a JSON number")
	// json.Number would also take a string holding a number; a NumericDate is not one.
	if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return time.Time{}, bad
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return time.Time{}, bad
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, bad
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
