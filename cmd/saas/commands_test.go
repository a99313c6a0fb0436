package main

import (
	"context"
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/pg"
)

// The commands as an operator runs them: `saas migrate` on an empty database,
// then `saas rotate-master-key` with the old key moved to
// SAAS_MASTER_KEY_PREVIOUS.
func TestMigrateAndRotateMasterKeyCommands(t *testing.T) {
	ctx := context.Background()
	pool, url := dbtest.NewWithURL(t) // an empty database: no migrations yet
	t.Setenv("DATABASE_URL", url)
	t.Setenv("SAAS_DEV_MASTER_KEY_FILE", "")
	t.Setenv("SAAS_MASTER_KEY_PREVIOUS", "")

	if err := run(ctx, "migrate", nil); err != nil {
		t.Fatal(err)
	}
	current, err := pg.Current(ctx, pool, idempotency.Migrations, configvault.Migrations)
	if err != nil || !current {
		t.Fatalf("after saas migrate: current=%v err=%v", current, err)
	}

	oldKey, newKey := newMasterKey(), newMasterKey()
	old, _ := keycrypto.ParseMasterKey(oldKey)
	oldRing, _ := keycrypto.NewKeyring(old)
	svc := configvault.NewService(pool, oldRing, nil)
	ten, err := svc.CreateTenant(ctx, configvault.NewTenant{Name: "Rotate", Domain: "rotate.example", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.CreateKey(ctx, configvault.NewKey{TenantID: ten.ID, Algorithm: "EdDSA", ExpiresInDays: 1}); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv("SAAS_MASTER_KEY", newKey)
	t.Setenv("SAAS_MASTER_KEY_PREVIOUS", oldKey)
	if err := run(ctx, "rotate-master-key", nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := keycrypto.ParseMasterKey(newKey)
	var stale int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM configvault.signing_keys WHERE master_key_id <> $1", fresh.ID).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d keys not resealed (%v)", stale, err)
	}

	// Without the old key, a sealed key cannot be opened: the command says so
	// rather than corrupting anything.
	t.Setenv("SAAS_MASTER_KEY", newMasterKey())
	t.Setenv("SAAS_MASTER_KEY_PREVIOUS", "")
	if err := run(ctx, "rotate-master-key", nil); err == nil {
		t.Fatal("rotating without the key that sealed the rows must fail")
	}
	// Nor does the server start with it: it would fail at the first signature.
	t.Setenv("SAAS_ADDR", "127.0.0.1:0")
	if err := run(ctx, "serve", nil); err == nil || !strings.Contains(err.Error(), "which is not configured") {
		t.Fatalf("serve with a master key that opens no stored key: %v", err)
	}
}
