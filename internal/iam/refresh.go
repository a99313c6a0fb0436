package iam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Refresh token lifetimes by default. A session unused for the idle lifetime
// ends; however active, it ends at the absolute lifetime after sign-in, when
// the user must present their password again. Fourteen idle days keep a
// weekly user signed in; thirty absolute days bound what a stolen token that
// keeps being rotated is worth.
const (
	DefaultRefreshIdle     = 14 * 24 * time.Hour
	DefaultRefreshAbsolute = 30 * 24 * time.Hour
)

// tokenBytes is the refresh token's entropy: 256 bits.
const tokenBytes = 32

// tokenLen is the length of its unpadded base64url form.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// Subject is whom a refresh token was issued to: a user of the tenant. Only
// sign-ins start sessions; a machine client signs in again with its secret
// (RFC 6749 §4.4.3) and never holds a refresh token.
type Subject struct {
	UserID uuid.UUID
}

// UserSubject is a user as the subject.
func UserSubject(id uuid.UUID) Subject { return Subject{UserID: id} }

// Session is what a new family is issued for: a sign-in.
type Session struct {
	TenantID uuid.UUID
	Subject
	// SecurityStamp is UAM's security stamp as it was at sign-in (nil:
	// none recorded); every token of the family carries it, so that a
	// refresh can tell that the user's sessions were ended since (password
	// changed, user disabled or locked). No permissions are stored: every
	// refresh reads them from UAM again.
	SecurityStamp *time.Time
}

// Grant is what a refresh token stood for, to be turned into a new access
// token.
type Grant struct {
	Session
	// FamilyID names the session: every token rotated from one sign-in.
	FamilyID uuid.UUID
	// ExpiresAt is when the token (after Rotate: its successor) expires
	// unused: its idle expiry, never past the family's end.
	ExpiresAt time.Time
}

func grantOf(r db.IamRefreshToken) Grant {
	return Grant{
		Session:  Session{TenantID: r.TenantID, Subject: UserSubject(r.UserID), SecurityStamp: r.SecurityStamp},
		FamilyID: r.FamilyID, ExpiresAt: r.IdleExpiresAt,
	}
}

// RefreshConfig configures RefreshTokens. Zero values take the defaults.
type RefreshConfig struct {
	// IdleLifetime: a token unused this long expires (DefaultRefreshIdle).
	IdleLifetime time.Duration
	// AbsoluteLifetime: a family ends this long after its first token
	// (DefaultRefreshAbsolute), however often it was rotated.
	AbsoluteLifetime time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// OnReuse is told of every presentation of a spent token: its family has
	// just been revoked (or already was). For the
	// saas_refresh_reuse_detected_total counter; it must not block.
	OnReuse func(ctx context.Context, tenantID, familyID uuid.UUID)
}

// RefreshTokens issues, rotates and revokes refresh tokens: opaque 256-bit
// values from crypto/rand, handed out once and stored only as their SHA-256
// (a fast hash suits a value nobody can guess). Tokens are looked up by that
// hash through a unique index; no secret is ever compared in Go.
//
// Rotation spends the presented token and returns its successor in the same
// family. Presenting a spent token again means it leaked (RFC 9700 §4.14.2):
// the whole family is revoked, the successor included, and the answer is the
// same as for an unknown token. Of N concurrent rotations of one token exactly
// one succeeds; the others presented a token that was spent by then, so they
// count as reuse and revoke the family, the winner's new token with it. That
// is the strict reading of RFC 9700 §4.14.2: the server cannot tell a client
// racing itself from an attacker replaying a stolen token beside the client,
// so either way the session ends and the user signs in again; letting the
// winner's token live would let an attacker who won the race keep the
// session. Clients that refresh from several places at once (browser tabs)
// must serialise their refreshes.
type RefreshTokens struct {
	q        *db.Queries
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
	onReuse  func(ctx context.Context, tenantID, familyID uuid.UUID)
}

// NewRefreshTokens returns the component over the pool's iam schema.
func NewRefreshTokens(pool *pgxpool.Pool, cfg RefreshConfig) (*RefreshTokens, error) {
	if cfg.IdleLifetime == 0 {
		cfg.IdleLifetime = DefaultRefreshIdle
	}
	if cfg.AbsoluteLifetime == 0 {
		cfg.AbsoluteLifetime = DefaultRefreshAbsolute
	}
	if cfg.IdleLifetime < 0 || cfg.AbsoluteLifetime < 0 {
		return nil, errors.New("iam: refresh token lifetimes must be positive")
	}
	if cfg.IdleLifetime > cfg.AbsoluteLifetime {
		return nil, fmt.Errorf("iam: the refresh token idle lifetime (%v) exceeds the absolute one (%v)",
			cfg.IdleLifetime, cfg.AbsoluteLifetime)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnReuse == nil {
		cfg.OnReuse = func(context.Context, uuid.UUID, uuid.UUID) {}
	}
	return &RefreshTokens{q: db.New(pool), idle: cfg.IdleLifetime, absolute: cfg.AbsoluteLifetime,
		now: cfg.Now, onReuse: cfg.OnReuse}, nil
}

// invalidRefreshToken is the one answer to every refresh token that
// cannot be used: unknown, malformed, spent, revoked or expired alike, so the
// answer tells an attacker nothing.
func invalidRefreshToken() error {
	return problem.New(problem.KindUnauthorized, "the refresh token is invalid or expired")
}

// newToken returns a fresh token and its hash.
func newToken() (string, []byte) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (it crashes the program instead)
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(b), h[:]
}

// hashToken returns the stored form of a presented token, false when it
// cannot be one of ours (no database round trip for garbage).
func hashToken(token string) ([]byte, bool) {
	if len(token) != tokenLen {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// Issue starts a family (a session) and returns its first token, valid
// until now plus the idle lifetime, and never beyond now plus the absolute
// lifetime.
func (r *RefreshTokens) Issue(ctx context.Context, s Session, now time.Time) (string, error) {
	if s.TenantID == uuid.Nil || s.UserID == uuid.Nil {
		return "", errors.New("iam: a refresh token needs a tenant and a user")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	family, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	token, hash := newToken()
	_, err = r.q.IssueRefreshToken(ctx, db.IssueRefreshTokenParams{
		TenantID: s.TenantID, ID: id, FamilyID: family, TokenHash: hash, UserID: s.UserID,
		IssuedAt: now, IdleExpiresAt: now.Add(r.idle), FamilyExpiresAt: now.Add(r.absolute),
		SecurityStamp: s.SecurityStamp,
	})
	if err != nil {
		return "", pg.Classify(err)
	}
	return token, nil
}

// Rotate spends token and returns what it granted and its successor: same
// family, same absolute expiry, a new idle expiry. A token that cannot be
// used is a KindUnauthorized problem, whatever the reason; a spent one also
// revokes its family and is reported to OnReuse.
func (r *RefreshTokens) Rotate(ctx context.Context, token string) (Grant, string, error) {
	hash, ok := hashToken(token)
	if !ok {
		return Grant{}, "", invalidRefreshToken()
	}
	now := r.now()
	id, err := uuid.NewV7()
	if err != nil {
		return Grant{}, "", err
	}
	next, nextHash := newToken()
	row, err := r.q.RotateRefreshToken(ctx, db.RotateRefreshTokenParams{
		TokenHash: hash, Now: now, NewID: id, NewTokenHash: nextHash, NewIdleExpiresAt: now.Add(r.idle),
	})
	if err == nil {
		return grantOf(row), next, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, "", pg.Classify(err)
	}
	return Grant{}, "", r.refuse(ctx, hash, now)
}

// Lookup tells what a usable token grants without spending it, so that a
// caller can check the subject and prepare the new access token first: when
// that fails (a dependency down), the client still holds a usable token
// instead of a spent one whose retry would count as reuse. A token that
// cannot be used is refused as Rotate refuses it, a spent one revoking its
// family. Rotate stays the judge: a token Lookup accepted may still lose a
// race to another rotation or a revocation.
func (r *RefreshTokens) Lookup(ctx context.Context, token string) (Grant, error) {
	g, hash, err := r.read(ctx, token)
	if errors.Is(err, errUnusable) {
		return Grant{}, r.refuse(ctx, hash, r.now())
	}
	return g, err
}

// Peek is Lookup without consequences, for who only asks about a token
// (introspection): a spent token is refused like any unusable one, its
// family left alone and no reuse reported. Only presenting a token to use
// it proves it leaked.
func (r *RefreshTokens) Peek(ctx context.Context, token string) (Grant, error) {
	g, _, err := r.read(ctx, token)
	if errors.Is(err, errUnusable) {
		return Grant{}, invalidRefreshToken()
	}
	return g, err
}

// errUnusable is read's answer for a token of ours that cannot be used:
// spent, revoked, of a revoked family (as Rotate judges), or expired. Unknown
// and malformed tokens are invalidRefreshToken at once: nothing more is to be
// done about them.
var errUnusable = errors.New("refresh token unusable")

// read reads what a usable token grants, and its hash, changing nothing.
func (r *RefreshTokens) read(ctx context.Context, token string) (g Grant, hash []byte, err error) {
	hash, ok := hashToken(token)
	if !ok {
		return Grant{}, nil, invalidRefreshToken()
	}
	row, err := r.q.GetRefreshTokenByHash(ctx, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, hash, invalidRefreshToken()
	}
	if err != nil {
		return Grant{}, hash, pg.Classify(err)
	}
	t, now := row.IamRefreshToken, r.now()
	if t.UsedAt != nil || t.RevokedAt != nil || row.FamilyRevoked || !now.Before(t.IdleExpiresAt) || !now.Before(t.FamilyExpiresAt) {
		return Grant{}, hash, errUnusable
	}
	return grantOf(t), hash, nil
}

// refuse answers a token that cannot be used: unknown, spent, revoked or
// expired. Only a spent one needs more: its family is revoked and the reuse
// reported.
func (r *RefreshTokens) refuse(ctx context.Context, hash []byte, now time.Time) error {
	reused, err := r.q.RevokeReusedFamily(ctx, db.RevokeReusedFamilyParams{TokenHash: hash, Now: now})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return pg.Classify(err)
	default:
		slog.WarnContext(ctx, "refresh token reuse: family revoked", "tenant", reused.TenantID,
			"family", reused.FamilyID, "tokens_revoked", reused.Revoked)
		r.onReuse(ctx, reused.TenantID, reused.FamilyID)
	}
	return invalidRefreshToken()
}

// Revoke ends the session token belongs to (logout): its whole family,
// whatever state the token is in. An unknown or malformed token is not an
// error, so the caller's answer reveals nothing.
func (r *RefreshTokens) Revoke(ctx context.Context, token string) error {
	hash, ok := hashToken(token)
	if !ok {
		return nil
	}
	_, err := r.q.RevokeFamilyByToken(ctx, db.RevokeFamilyByTokenParams{TokenHash: hash, Now: r.now()})
	return pg.Classify(err)
}

// RevokeUser ends every session of the user (password changed, user
// disabled or locked).
func (r *RefreshTokens) RevokeUser(ctx context.Context, tenantID, userID uuid.UUID) error {
	_, err := r.q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: tenantID, UserID: userID, Now: r.now()})
	return pg.Classify(err)
}

// Purge deletes the families past their absolute expiry, which nothing can
// use any more, and reports how many token rows went.
func (r *RefreshTokens) Purge(ctx context.Context) (int64, error) {
	n, err := r.q.PurgeRefreshTokens(ctx, r.now())
	return n, pg.Classify(err)
}
