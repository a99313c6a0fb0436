package iam_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// clock is a settable clock; t0 is microsecond-aligned, as PostgreSQL stores.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// reuses records OnReuse calls.
type reuses struct {
	mu       sync.Mutex
	families []uuid.UUID
}

func (r *reuses) hook(_ context.Context, _ uuid.UUID, family uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.families = append(r.families, family)
}

func (r *reuses) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.families)
}

type fixture struct {
	pool   *pgxpool.Pool
	clock  *clock
	reuse  *reuses
	tokens *iam.RefreshTokens
}

func newFixture(t *testing.T, cfg iam.RefreshConfig) *fixture {
	t.Helper()
	f := &fixture{pool: dbtest.New(t, iam.Migrations), clock: newClock(), reuse: &reuses{}}
	cfg.Now, cfg.OnReuse = f.clock.Now, f.reuse.hook
	var err error
	if f.tokens, err = iam.NewRefreshTokens(f.pool, cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) issue(t *testing.T, tenantID uuid.UUID, s iam.Subject) string {
	t.Helper()
	tok, err := f.tokens.Issue(context.Background(), iam.Session{TenantID: tenantID, Subject: s}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// row is the stored row of a token.
func (f *fixture) row(t *testing.T, token string) db.IamRefreshToken {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	h := sha256.Sum256(raw)
	got, err := db.New(f.pool).GetRefreshTokenByHash(context.Background(), h[:])
	if err != nil {
		t.Fatalf("no row for the token: %v", err)
	}
	return got.IamRefreshToken
}

func (f *fixture) rotate(t *testing.T, token string) (iam.Grant, string) {
	t.Helper()
	g, next, err := f.tokens.Rotate(context.Background(), token)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	return g, next
}

// refused asserts the one answer to an unusable refresh token.
func (f *fixture) refused(t *testing.T, token string) {
	t.Helper()
	g, next, err := f.tokens.Rotate(context.Background(), token)
	assertInvalid(t, err)
	if next != "" || g != (iam.Grant{}) {
		t.Errorf("a refused rotation returned a grant %+v or token %q", g, next)
	}
}

func assertInvalid(t *testing.T, err error) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindUnauthorized || pe.Detail != "the refresh token is invalid or expired" {
		t.Fatalf("got %v, want KindUnauthorized %q", err, "the refresh token is invalid or expired")
	}
}

func newID(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
