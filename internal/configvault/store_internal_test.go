package configvault

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/configvault"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// countingDB counts the statements the store sends.
type countingDB struct {
	db.DBTX
	n atomic.Int64
}

func (c *countingDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.n.Add(1)
	return c.DBTX.Exec(ctx, sql, args...)
}

func (c *countingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n.Add(1)
	return c.DBTX.Query(ctx, sql, args...)
}

func (c *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.n.Add(1)
	return c.DBTX.QueryRow(ctx, sql, args...)
}

// keyRuleFixture: an active tenant with an active site, each with a key, an
// inactive site, a site of an inactive tenant, and the inactive tenant.
type keyRuleFixture struct {
	pool                             *pgxpool.Pool
	svc                              *Service
	tenant, offTenant                uuid.UUID
	site, offSite, siteOfOffTenant   uuid.UUID
	tenantKid, siteKid, offTenantKid string
}

func newKeyRuleFixture(t *testing.T) keyRuleFixture {
	t.Helper()
	svc, pool := newTestServiceAndPool(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := keyRuleFixture{svc: svc, pool: pool}
	for _, tc := range []struct {
		id     *uuid.UUID
		domain string
		active bool
	}{{&f.tenant, "on.example", true}, {&f.offTenant, "off.example", true}} {
		ten, err := svc.CreateTenant(ctx, NewTenant{Name: "t", Domain: tc.domain, IsActive: tc.active})
		must(err)
		*tc.id = ten.ID
	}
	for _, tc := range []struct {
		id     *uuid.UUID
		tenant uuid.UUID
		domain string
		active bool
	}{{&f.site, f.tenant, "site.on.example", true}, {&f.offSite, f.tenant, "off-site.on.example", false}, {&f.siteOfOffTenant, f.offTenant, "site.off.example", true}} {
		st, err := svc.CreateSite(ctx, NewSite{TenantID: tc.tenant, Name: "s", Domain: tc.domain, IsActive: tc.active})
		must(err)
		*tc.id = st.ID
	}
	key := func(tenant uuid.UUID, site *uuid.UUID) string {
		k, err := svc.CreateKey(ctx, NewKey{TenantID: tenant, SiteID: site, Algorithm: "EdDSA"})
		must(err)
		return k.Kid
	}
	f.tenantKid, f.siteKid, f.offTenantKid = key(f.tenant, nil), key(f.tenant, &f.site), key(f.offTenant, nil)
	key(f.tenant, &f.offSite)
	key(f.offTenant, &f.siteOfOffTenant)
	off := false
	_, err := svc.UpdateTenant(ctx, f.offTenant, Patch{IsActive: &off}, nil)
	must(err)
	return f
}

// Which key signs, and what is published, is decided by one query per
// question, whoever asks and whatever the answer (a key, none, no owner):
// nothing is read first to look the owner up or to check it in Go.
func TestActiveKeyAndKeySetAreOneQueryEach(t *testing.T) {
	f := newKeyRuleFixture(t)
	counter := &countingDB{DBTX: f.pool}
	f.svc.store.q = db.New(counter)
	ctx := context.Background()
	missing := uuid.Must(uuid.NewV7())
	for _, tc := range []struct {
		name string
		call func() error
		kind problem.Kind // KindInternal: no error
	}{
		{"tenant's key", func() error { _, err := f.svc.TenantActiveKey(ctx, f.tenant); return err }, problem.KindInternal},
		{"site's key", func() error { _, err := f.svc.SiteActiveKey(ctx, f.site); return err }, problem.KindInternal},
		{"inactive site's key", func() error { _, err := f.svc.SiteActiveKey(ctx, f.offSite); return err }, problem.KindNotFound},
		{"inactive tenant's key", func() error { _, err := f.svc.TenantActiveKey(ctx, f.offTenant); return err }, problem.KindNotFound},
		{"key of a site of an inactive tenant", func() error { _, err := f.svc.SiteActiveKey(ctx, f.siteOfOffTenant); return err }, problem.KindNotFound},
		{"missing tenant's key", func() error { _, err := f.svc.TenantActiveKey(ctx, missing); return err }, problem.KindNotFound},
		{"missing site's key", func() error { _, err := f.svc.SiteActiveKey(ctx, missing); return err }, problem.KindNotFound},
		{"tenant's JWKS", func() error { _, err := f.svc.TenantJWKS(ctx, f.tenant); return err }, problem.KindInternal},
		{"site's JWKS", func() error { _, err := f.svc.SiteJWKS(ctx, f.site); return err }, problem.KindInternal},
		{"inactive site's JWKS", func() error { _, err := f.svc.SiteJWKS(ctx, f.offSite); return err }, problem.KindInternal},
		{"missing site's JWKS", func() error { _, err := f.svc.SiteJWKS(ctx, missing); return err }, problem.KindNotFound},
	} {
		counter.n.Store(0)
		err := tc.call()
		if (err == nil) != (tc.kind == problem.KindInternal) || (err != nil && !problem.Is(err, tc.kind)) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if n := counter.n.Load(); n != 1 {
			t.Errorf("%s: %d queries, want 1", tc.name, n)
		}
	}
}

// The rule that an inactive tenant or site has no active key and publishes
// nothing lives in the queries: asked directly, they return no key for such
// an owner, only its state.
func TestTheQueriesAloneWithholdKeysOfInactiveOwners(t *testing.T) {
	f := newKeyRuleFixture(t)
	q := f.svc.store.q
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		owner        keyOwner
		signs        string // "": none
		tenantActive bool
		siteActive   bool
		published    int
	}{
		{"active tenant", tenantOwner(f.tenant), f.tenantKid, true, true, 1},
		{"active site", siteOwner(f.site), f.siteKid, true, true, 2},
		{"inactive site", siteOwner(f.offSite), "", true, false, 0},
		{"inactive tenant", tenantOwner(f.offTenant), "", false, true, 0},
		{"site of an inactive tenant", siteOwner(f.siteOfOffTenant), "", false, true, 0},
	} {
		row, err := q.ActiveKey(ctx, db.ActiveKeyParams{TenantID: tc.owner.tenantID, SiteID: tc.owner.siteID})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		if row.Kid != nil {
			got = *row.Kid
		}
		if got != tc.signs || row.TenantIsActive != tc.tenantActive || row.SiteIsActive != tc.siteActive {
			t.Errorf("%s: key %q, tenant active %v, site active %v; want %q, %v, %v",
				tc.name, got, row.TenantIsActive, row.SiteIsActive, tc.signs, tc.tenantActive, tc.siteActive)
		}
		jwks, err := q.PublishedKeys(ctx, db.PublishedKeysParams{TenantID: tc.owner.tenantID, SiteID: tc.owner.siteID})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		published := 0
		for _, k := range jwks {
			if k != nil {
				published++
			}
		}
		if published != tc.published || len(jwks) == 0 {
			t.Errorf("%s: %d rows, %d keys published; want %d", tc.name, len(jwks), published, tc.published)
		}
	}
}
