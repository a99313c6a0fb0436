package iam_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/iam"
)

func TestRefreshRotateThenReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	ctx := context.Background()
	tenant, user := newID(t), newID(t)
	first := f.issue(t, tenant, iam.UserSubject(user))

	g, second := f.rotate(t, first)
	if g.TenantID != tenant || g.UserID != user || !g.ExpiresAt.Equal(t0.Add(iam.DefaultRefreshIdle)) {
		t.Errorf("grant %+v", g)
	}
	if row := f.row(t, second); !row.FamilyExpiresAt.Equal(t0.Add(iam.DefaultRefreshAbsolute)) {
		t.Errorf("family expires %v, want %v", row.FamilyExpiresAt, t0.Add(iam.DefaultRefreshAbsolute))
	}
	if second == first {
		t.Fatal("rotation returned the same token")
	}

	// The spent token again: refused like an unknown one, and the family
	// (the live successor included) is revoked and the reuse reported.
	f.refused(t, first)
	if n := f.reuse.count(); n != 1 || f.reuse.families[0] != g.FamilyID {
		t.Fatalf("reuse reports %v, want one of family %v", f.reuse.families, g.FamilyID)
	}
	f.refused(t, second)
	if n := f.reuse.count(); n != 1 {
		t.Errorf("a revoked, never-used token was reported as reuse (%d reports)", n)
	}
	// Unknown and malformed tokens get the same answer, and are no reuse.
	unknown := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, tok := range []string{unknown, "", "short", first + "A", strings.Repeat("!", len(first))} {
		f.refused(t, tok)
	}
	if n := f.reuse.count(); n != 1 {
		t.Errorf("%d reuse reports, want 1", n)
	}
	// Other sessions of the same user are untouched.
	other := f.issue(t, tenant, iam.UserSubject(user))
	if _, _, err := f.tokens.Rotate(ctx, other); err != nil {
		t.Errorf("another family was affected: %v", err)
	}
}

func TestRefreshTokenStoredOnlyAsHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	tok := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) != 32 || len(tok) != 43 {
		t.Fatalf("token %q is not base64url of 32 bytes (%v)", tok, err)
	}
	h := sha256.Sum256(raw)
	got, err := db.New(f.pool).GetRefreshTokenByHash(context.Background(), h[:])
	if err != nil {
		t.Fatalf("no row under the token's SHA-256: %v", err)
	}
	row := got.IamRefreshToken
	var found bool
	err = f.pool.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM iam.refresh_tokens t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, encode($2, 'hex')) > 0)`,
		tok, raw).Scan(&found)
	if err != nil || found {
		t.Errorf("the token itself is stored (found=%v, err=%v)", found, err)
	}
	if !row.IdleExpiresAt.Equal(t0.Add(iam.DefaultRefreshIdle)) || !row.FamilyExpiresAt.Equal(t0.Add(iam.DefaultRefreshAbsolute)) {
		t.Errorf("expiries %v / %v", row.IdleExpiresAt, row.FamilyExpiresAt)
	}
}

// Of N concurrent rotations of one token exactly one succeeds. The others
// present a token that is spent by the time their statement sees it, which is
// reuse: each is refused and reported, and the family ends revoked, the
// winner's new token included.
func TestRefreshConcurrentRotationExactlyOneSucceeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	tok := f.issue(t, newID(t), iam.UserSubject(newID(t)))

	const n = 20
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		winners []string
		errs    []error
	)
	for range n {
		wg.Go(func() {
			<-start
			_, next, err := f.tokens.Rotate(context.Background(), tok)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				winners = append(winners, next)
			}
		})
	}
	close(start)
	wg.Wait()

	if len(winners) != 1 || len(errs) != n-1 {
		t.Fatalf("%d successes and %d failures, want 1 and %d", len(winners), len(errs), n-1)
	}
	for _, err := range errs {
		assertInvalid(t, err)
	}
	if got := f.reuse.count(); got != n-1 {
		t.Errorf("%d reuse reports, want %d", got, n-1)
	}
	// The strict reading of RFC 9700 (see RefreshTokens): the losers' reuse
	// revoked the family, so even the winner's new token is dead.
	if _, _, err := f.tokens.Rotate(context.Background(), winners[0]); err == nil {
		t.Fatal("the winner's new refresh token survived the losers' reuse")
	}
	f.refused(t, winners[0])
}

func TestRefreshIdleExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{IdleLifetime: time.Hour, AbsoluteLifetime: 10 * time.Hour})
	tok := f.issue(t, newID(t), iam.UserSubject(newID(t)))

	f.clock.Advance(time.Hour - time.Microsecond)
	_, tok = f.rotate(t, tok) // just in time; the successor has a new hour
	f.clock.Advance(time.Hour - time.Microsecond)
	_, tok = f.rotate(t, tok)
	f.clock.Advance(time.Hour) // idle_expires_at is the first instant it is expired
	f.refused(t, tok)
	f.refused(t, tok)
	if n := f.reuse.count(); n != 0 {
		t.Errorf("an expired, unused token was reported as reuse (%d)", n)
	}
}

func TestRefreshAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{IdleLifetime: time.Hour, AbsoluteLifetime: 150 * time.Minute})
	tok := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	for i := range 2 {
		f.clock.Advance(50 * time.Minute)
		_, tok = f.rotate(t, tok)
		if row := f.row(t, tok); !row.FamilyExpiresAt.Equal(t0.Add(150 * time.Minute)) {
			t.Fatalf("rotation %d moved the absolute expiry to %v", i, row.FamilyExpiresAt)
		}
	}
	// The last successor's idle expiry is clamped to the family's end.
	if row := f.row(t, tok); !row.IdleExpiresAt.Equal(t0.Add(150 * time.Minute)) {
		t.Errorf("idle expiry %v, want the family's end %v", row.IdleExpiresAt, t0.Add(150*time.Minute))
	}
	f.clock.Advance(50 * time.Minute) // t0+150m: idle would allow it, the family's end does not
	f.refused(t, tok)
}

func TestRefreshLogoutRevokesFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	ctx := context.Background()
	tenant, user := newID(t), newID(t)
	first := f.issue(t, tenant, iam.UserSubject(user))
	_, second := f.rotate(t, first)
	other := f.issue(t, tenant, iam.UserSubject(user)) // another session

	if err := f.tokens.Revoke(ctx, second); err != nil {
		t.Fatal(err)
	}
	f.refused(t, second)
	if n := f.reuse.count(); n != 0 {
		t.Errorf("a revoked, unused token was reported as reuse (%d)", n)
	}
	if _, _, err := f.tokens.Rotate(ctx, other); err != nil {
		t.Errorf("logout ended another session: %v", err)
	}
	// Revoking twice, or unknown and malformed tokens: no error, nothing to tell.
	unknown := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, tok := range []string{second, first, unknown, "", "not a token"} {
		if err := f.tokens.Revoke(ctx, tok); err != nil {
			t.Errorf("Revoke(%q): %v", tok, err)
		}
	}
}

func TestRefreshLogoutWithSpentTokenRevokesFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	first := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	_, second := f.rotate(t, first)
	if err := f.tokens.Revoke(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	f.refused(t, second)
}

func TestRefreshRevokeUserRevokesAllItsFamilies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	ctx := context.Background()
	tenant, otherTenant, alice, bob := newID(t), newID(t), newID(t), newID(t)
	a1 := f.issue(t, tenant, iam.UserSubject(alice))
	_, a1 = f.rotate(t, a1)
	a2 := f.issue(t, tenant, iam.UserSubject(alice))
	b := f.issue(t, tenant, iam.UserSubject(bob))
	elsewhere := f.issue(t, otherTenant, iam.UserSubject(alice)) // the same id in another tenant

	if err := f.tokens.RevokeUser(ctx, tenant, alice); err != nil {
		t.Fatal(err)
	}
	f.refused(t, a1)
	f.refused(t, a2)
	for _, tok := range []string{b, elsewhere} {
		if _, _, err := f.tokens.Rotate(ctx, tok); err != nil {
			t.Errorf("RevokeUser reached another user or tenant: %v", err)
		}
	}
}

// A revocation racing with a rotation must not leave the rotation's new token
// alive: whichever statement locks the token first, the family ends revoked.
func TestRefreshRevokeUserDuringRotationLeavesNoLiveToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	ctx := context.Background()
	tenant := newID(t)
	for i := range 30 {
		user := newID(t)
		tok := f.issue(t, tenant, iam.UserSubject(user))
		var (
			wg    sync.WaitGroup
			next  string
			rerr  error
			start = make(chan struct{})
		)
		wg.Go(func() { <-start; _, next, rerr = f.tokens.Rotate(ctx, tok) })
		wg.Go(func() {
			<-start
			if err := f.tokens.RevokeUser(ctx, tenant, user); err != nil {
				t.Error(err)
			}
		})
		close(start)
		wg.Wait()
		if rerr == nil {
			f.refused(t, next)
		} else {
			assertInvalid(t, rerr)
		}
		if t.Failed() {
			t.Fatalf("round %d", i)
		}
	}
}

func TestRefreshIssueRejectsBadSubject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	ctx := context.Background()
	tenant := newID(t)
	if _, err := f.tokens.Issue(ctx, iam.Session{TenantID: tenant}, t0); err == nil {
		t.Error("issued without a user")
	}
	if _, err := f.tokens.Issue(ctx, iam.Session{Subject: iam.UserSubject(newID(t))}, t0); err == nil {
		t.Error("issued without a tenant")
	}
}

func TestRefreshPurgeDropsExpiredFamilies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{IdleLifetime: 2 * time.Hour, AbsoluteLifetime: 2 * time.Hour})
	ctx := context.Background()
	old := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	_, _ = f.rotate(t, old)
	f.clock.Advance(time.Hour)
	live := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	f.clock.Advance(90 * time.Minute) // the first family ended 30 minutes ago
	n, err := f.tokens.Purge(ctx)
	if err != nil || n != 2 {
		t.Fatalf("purged %d rows (%v), want the 2 of the expired family", n, err)
	}
	if _, _, err := f.tokens.Rotate(ctx, live); err != nil {
		t.Errorf("the live family was purged: %v", err)
	}
}

func TestNewRefreshTokensRejectsBadLifetimes(t *testing.T) {
	t.Parallel()
	for _, cfg := range []iam.RefreshConfig{
		{IdleLifetime: 2 * time.Hour, AbsoluteLifetime: time.Hour},
		{IdleLifetime: -time.Hour},
		{IdleLifetime: 31 * 24 * time.Hour}, // beyond the default absolute lifetime
	} {
		if _, err := iam.NewRefreshTokens(nil, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// Lookup reads a usable token without spending it; the password stamp
// travels with every rotation; a spent token presented to Lookup is reuse,
// as it is to Rotate.
func TestRefreshLookup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{IdleLifetime: time.Hour, AbsoluteLifetime: 10 * time.Hour})
	ctx := context.Background()
	tenant, user := newID(t), newID(t)
	stamp := t0.Add(-time.Hour)
	first, err := f.tokens.Issue(ctx, iam.Session{TenantID: tenant, Subject: iam.UserSubject(user),
		SecurityStamp: &stamp}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		g, err := f.tokens.Lookup(ctx, first)
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		if g.TenantID != tenant || g.UserID != user || g.SecurityStamp == nil ||
			!g.SecurityStamp.Equal(stamp) || !g.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("grant %+v", g)
		}
	}
	f.clock.Advance(time.Minute)
	rotated, second := f.rotate(t, first)
	if rotated.SecurityStamp == nil || !rotated.SecurityStamp.Equal(stamp) || !rotated.ExpiresAt.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Errorf("rotated grant %+v", rotated)
	}
	if g, err := f.tokens.Lookup(ctx, second); err != nil || g.FamilyID != rotated.FamilyID || !g.SecurityStamp.Equal(stamp) {
		t.Errorf("successor: %+v %v", g, err)
	}

	unknown := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, tok := range []string{unknown, "", "short"} {
		if _, err := f.tokens.Lookup(ctx, tok); err == nil {
			t.Errorf("Lookup(%q) accepted", tok)
		} else {
			assertInvalid(t, err)
		}
	}
	if n := f.reuse.count(); n != 0 {
		t.Fatalf("%d reuse reports before any reuse", n)
	}
	_, err = f.tokens.Lookup(ctx, first)
	assertInvalid(t, err)
	if n := f.reuse.count(); n != 1 {
		t.Errorf("%d reuse reports, want 1", n)
	}
	f.refused(t, second)

	// An expired token is refused, and is no reuse.
	third := f.issue(t, tenant, iam.UserSubject(user))
	f.clock.Advance(time.Hour)
	_, err = f.tokens.Lookup(ctx, third)
	assertInvalid(t, err)
	if n := f.reuse.count(); n != 1 {
		t.Errorf("an expired token was reported as reuse (%d reports)", n)
	}
}

// A family is revoked as soon as one of its tokens is (see the schema): a
// successor a revocation's snapshot missed is refused by Lookup as Rotate
// refuses it.
func TestRefreshLookupRefusesATokenOfARevokedFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	first := f.issue(t, newID(t), iam.UserSubject(newID(t)))
	_, second := f.rotate(t, first)
	raw, _ := base64.RawURLEncoding.DecodeString(first)
	h := sha256.Sum256(raw)
	if _, err := f.pool.Exec(context.Background(), `UPDATE iam.refresh_tokens SET revoked_at = $2 WHERE token_hash = $1`, h[:], t0); err != nil {
		t.Fatal(err)
	}
	_, err := f.tokens.Lookup(context.Background(), second)
	assertInvalid(t, err)
	f.refused(t, second)
}

// Peek tells what a token grants when it is usable and changes nothing:
// a spent token presented to it is refused and no reuse, so its family
// lives on.
func TestRefreshPeekHasNoSideEffects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{IdleLifetime: time.Hour, AbsoluteLifetime: 10 * time.Hour})
	ctx := context.Background()
	tenant, user := newID(t), newID(t)
	first := f.issue(t, tenant, iam.UserSubject(user))
	if g, err := f.tokens.Peek(ctx, first); err != nil || g.TenantID != tenant || g.UserID != user || !g.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("peek: %+v %v", g, err)
	}
	_, second := f.rotate(t, first)
	for range 2 {
		_, err := f.tokens.Peek(ctx, first)
		assertInvalid(t, err)
	}
	if n := f.reuse.count(); n != 0 {
		t.Errorf("%d reuse reports", n)
	}
	if _, err := f.tokens.Peek(ctx, second); err != nil {
		t.Errorf("the family was revoked: %v", err)
	}
	f.clock.Advance(time.Hour)
	_, err := f.tokens.Peek(ctx, second)
	assertInvalid(t, err)
}

// A refresh token stores whom it is for and its lifetimes, no permissions:
// every refresh reads them from UAM again, so stored ones would only go
// stale. And no machine client has one (RFC 6749 §4.4.3).
func TestRefreshTokensStoreNoPermissionsAndNoClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, iam.RefreshConfig{})
	rows, err := f.pool.Query(context.Background(), `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'iam' AND table_name = 'refresh_tokens' ORDER BY column_name`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"scope", "client_id"} {
		if slices.Contains(columns, gone) {
			t.Errorf("iam.refresh_tokens has %s: %v", gone, columns)
		}
	}
}
