package configvault_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// The hostname triggers' locking, driven step by step on separate
// connections: each test first makes one transaction hold what the other
// needs, waits until PostgreSQL reports the other blocked, and only then
// takes the next step, so that the outcome depends on lock order alone.

// session is one database connection, for tests that interleave transactions.
type session struct {
	t    *testing.T
	conn *pgxpool.Conn
	pid  uint32
}

func newSession(t *testing.T, pool *pgxpool.Pool) *session {
	t.Helper()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	return &session{t: t, conn: conn, pid: conn.Conn().PgConn().PID()}
}

func (s *session) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.conn.Exec(ctx, sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

// start runs sql in the background; the channel yields its error.
func (s *session) start(sql string, args ...any) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := s.conn.Exec(ctx, sql, args...)
		done <- err
	}()
	return done
}

// waitBlocked returns once the session waits for a lock; a statement that
// ends instead fails the test.
func waitBlocked(t *testing.T, pool *pgxpool.Pool, s *session, running <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, s.pid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		select {
		case err := <-running:
			t.Fatalf("the statement was expected to wait for a lock, but ended: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("the statement never waited for a lock")
}

func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

func insertTenant(t *testing.T, pool *pgxpool.Pool, domain string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	if _, err := pool.Exec(ctx, `INSERT INTO configvault.tenants (id, name, domain) VALUES ($1, 't', $2)`, id, domain); err != nil {
		t.Fatal(err)
	}
	return id
}

func insertSite(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID, domain string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	if _, err := pool.Exec(ctx, `INSERT INTO configvault.sites (tenant_id, id, name, domain) VALUES ($1, $2, 's', $3)`, tenant, id, domain); err != nil {
		t.Fatal(err)
	}
	return id
}

// A site INSERT takes its tenant's row before the hostname lock, as a tenant
// rename does. The rename holds its row from the start of its UPDATE (here
// taken by a FOR UPDATE first); a site insert of that tenant then waits for
// the row holding no hostname lock, so the rename gets the hostname and both
// succeed. Taking the hostname first deadlocked.
func TestSiteInsertTakesTheTenantRowBeforeTheHostname(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t, configvault.Migrations)
	tenant := insertTenant(t, pool, "before.example")
	rename, insert := newSession(t, pool), newSession(t, pool)

	rename.exec(`BEGIN`)
	rename.exec(`SELECT 1 FROM configvault.tenants WHERE id = $1 FOR UPDATE`, tenant)
	inserted := insert.start(`INSERT INTO configvault.sites (tenant_id, id, name, domain) VALUES ($1, $2, 's', 'shared.example')`,
		tenant, uuid.Must(uuid.NewV7()))
	waitBlocked(t, pool, insert, inserted)

	var holdsHostname bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted)`,
		insert.pid).Scan(&holdsHostname); err != nil {
		t.Fatal(err)
	}
	if holdsHostname {
		t.Error("the site insert waits for its tenant's row while holding a hostname lock")
	}
	_, renameErr := rename.conn.Exec(ctx, `UPDATE configvault.tenants SET domain = 'shared.example' WHERE id = $1`, tenant)
	_, commitErr := rename.conn.Exec(ctx, `COMMIT`)
	insertErr := <-inserted
	if renameErr != nil || commitErr != nil || insertErr != nil {
		t.Fatalf("rename: %v (deadlock %v), commit: %v, site insert: %v (deadlock %v)",
			renameErr, isDeadlock(renameErr), commitErr, insertErr, isDeadlock(insertErr))
	}
}

// A site UPDATE that keeps its tenant takes no tenant lock: it holds its own
// row from the start of the UPDATE, and a tenant DELETE holds the tenant row
// while its cascade waits for that site row, so waiting for the tenant row
// here would close a cycle.
func TestSiteRenameTakesNoTenantLock(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t, configvault.Migrations)
	tenant := insertTenant(t, pool, "doomed.example")
	site := insertSite(t, pool, tenant, "old.example")
	rename, del := newSession(t, pool), newSession(t, pool)

	rename.exec(`BEGIN`)
	rename.exec(`SELECT 1 FROM configvault.sites WHERE id = $1 FOR UPDATE`, site)
	deleted := del.start(`DELETE FROM configvault.tenants WHERE id = $1`, tenant)
	waitBlocked(t, pool, del, deleted) // the cascade waits for the site row

	_, renameErr := db.New(rename.conn).UpdateSite(ctx, db.UpdateSiteParams{ID: site, Domain: ptr("new.example")})
	_, commitErr := rename.conn.Exec(ctx, `COMMIT`)
	deleteErr := <-deleted
	if renameErr != nil || commitErr != nil || deleteErr != nil {
		t.Fatalf("site rename: %v (deadlock %v), commit: %v, tenant delete: %v (deadlock %v)",
			renameErr, isDeadlock(renameErr), commitErr, deleteErr, isDeadlock(deleteErr))
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM configvault.sites WHERE id = $1`, site).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the tenant's site survived its deletion: %d (%v)", left, err)
	}
}

// The update triggers fire only when the domain (or a site's tenant)
// changes, though the update queries assign domain on every update: an
// update of anything else does not queue behind a claim of the hostname.
// The claim is simulated by holding the hostname's lock, keyed as the
// triggers key it; lock_timeout turns a wait into an error.
func TestHostnameIsClaimedOnlyWhenTheDomainChanges(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t, configvault.Migrations)
	const held = "held.example"
	tenant := insertTenant(t, pool, held)
	site := insertSite(t, pool, tenant, held) // a site may use its own tenant's domain
	other := insertTenant(t, pool, "other.example")
	holder, writer := newSession(t, pool), newSession(t, pool)
	holder.exec(`SELECT pg_advisory_lock(hashtextextended('configvault.hostname:' || $1::text, 0))`, held)
	writer.exec(`SET lock_timeout = '300ms'`)
	q := db.New(writer.conn)

	if _, err := q.UpdateTenant(ctx, db.UpdateTenantParams{ID: tenant, Name: ptr("renamed"), IsActive: ptr(false)}); err != nil {
		t.Errorf("tenant update without a domain: %v", err)
	}
	if _, err := q.UpdateTenant(ctx, db.UpdateTenantParams{ID: tenant, Domain: ptr(held)}); err != nil {
		t.Errorf("tenant update to its own domain: %v", err)
	}
	if _, err := q.UpdateSite(ctx, db.UpdateSiteParams{ID: site, Name: ptr("renamed")}); err != nil {
		t.Errorf("site update without a domain: %v", err)
	}
	// The probe works: a real claim of the hostname does wait for its lock.
	_, err := q.UpdateTenant(ctx, db.UpdateTenantParams{ID: other, Domain: ptr(held)})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
		t.Fatalf("claiming the held hostname: %v, want a lock timeout", err)
	}
}

// Moving a site to another tenant (no API does; SQL could) is a claim of its
// hostname by that tenant.
func TestMovingASiteToAnotherTenantIsAClaim(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t, configvault.Migrations)
	a := insertTenant(t, pool, "a.example")
	b := insertTenant(t, pool, "b.example")
	site := insertSite(t, pool, a, "a.example")
	_, err := pool.Exec(ctx, `UPDATE configvault.sites SET tenant_id = $1 WHERE id = $2`, b, site)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.ConstraintName != "hostname_owner" {
		t.Fatalf("moving a site with its tenant's domain to another tenant: %v", err)
	}
}

// The rule is enforced from the migration that introduces it, so that
// migration refuses a database whose rows already break it, naming them.
func TestHostnameMigrationRefusesRowsThatBreakTheRule(t *testing.T) {
	t.Parallel()
	first, err := fs.ReadFile(schema.ConfigVault, "00001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := pg.Migrations{Schema: "configvault", FS: fstest.MapFS{"00001_init.sql": {Data: first}}}
	pool := dbtest.New(t, before)

	squatter := insertTenant(t, pool, "squatter.example")
	var clashing []uuid.UUID
	for _, host := range []string{"h01", "h02", "h03", "h04", "h05", "h06", "h07", "h08", "h09", "h10", "h11", "h12"} {
		insertTenant(t, pool, host+".example")
		clashing = append(clashing, insertSite(t, pool, squatter, host+".example"))
	}
	own := insertTenant(t, pool, "own.example")
	insertSite(t, pool, own, "own.example") // its own tenant's domain: fine

	err = pg.Migrate(ctx, pool, configvault.Migrations)
	if err == nil {
		t.Fatal("migrated over 12 hostnames that belong to two tenants")
	}
	msg := err.Error()
	for _, want := range []string{"12 hostname(s)", "h01.example, h02.example", "h10.example and 2 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	for _, unwanted := range []string{"h11.example", "own.example"} {
		if strings.Contains(msg, unwanted) {
			t.Errorf("error %q names %s", msg, unwanted)
		}
	}
	var applied bool
	if err := pool.QueryRow(ctx, `SELECT to_regproc('configvault.claim_site_hostname') IS NOT NULL`).Scan(&applied); err != nil || applied {
		t.Fatalf("the refused migration left its triggers behind (%v)", err)
	}

	// Once each hostname has one tenant, it applies.
	if _, err := pool.Exec(ctx, `DELETE FROM configvault.sites WHERE id = ANY ($1)`, clashing); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(context.Background(), pool, configvault.Migrations); err != nil {
		t.Fatalf("after the clashes were resolved: %v", err)
	}
}
