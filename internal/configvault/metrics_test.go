package configvault_test

import (
	"testing"

	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/metrics"
)

// counter reads a counter of the process's registry; labels are name, value pairs.
func counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// Not parallel: the counters are the process's, and parallel tests create
// and revoke keys too (they start only once the sequential tests are done).
func TestKeyCountersCountCreationsAndRevocations(t *testing.T) {
	pool := dbtest.New(t, idempotency.Migrations, configvault.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := configvault.NewService(pool, kr, nil)
	ten, err := svc.CreateTenant(ctx, configvault.NewTenant{Name: "Counted", Domain: uniqueDomain("counted"), IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	ed0, es0, rs0 := counter(t, "saas_keys_created_total", "algorithm", "EdDSA"), counter(t, "saas_keys_created_total", "algorithm", "ES256"),
		counter(t, "saas_keys_created_total", "algorithm", "RS256")
	revoked0 := counter(t, "saas_keys_revoked_total")

	var keys []configvault.SigningKey
	for _, alg := range []string{"EdDSA", "EdDSA", "ES256"} {
		k, err := svc.CreateKey(ctx, configvault.NewKey{TenantID: ten.ID, Algorithm: alg, ExpiresInDays: 1})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	// A refused creation counts nothing.
	if _, err := svc.CreateKey(ctx, configvault.NewKey{TenantID: ten.ID, Algorithm: "EdDSA", ExpiresInDays: 99999}); err == nil {
		t.Fatal("an invalid lifetime was accepted")
	}
	for range 2 { // revoking twice is one revocation
		if _, err := svc.SetKeyStatus(ctx, keys[0].ID.String(), configvault.KeyRevoked, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SetKeyStatus(ctx, keys[1].ID.String(), configvault.KeyInactive, nil); err != nil {
		t.Fatal(err)
	}

	if d := counter(t, "saas_keys_created_total", "algorithm", "EdDSA") - ed0; d != 2 {
		t.Errorf("EdDSA keys created: %v, want 2", d)
	}
	if d := counter(t, "saas_keys_created_total", "algorithm", "ES256") - es0; d != 1 {
		t.Errorf("ES256 keys created: %v, want 1", d)
	}
	if d := counter(t, "saas_keys_created_total", "algorithm", "RS256") - rs0; d != 0 {
		t.Errorf("RS256 keys created: %v, want 0", d)
	}
	if d := counter(t, "saas_keys_revoked_total") - revoked0; d != 1 {
		t.Errorf("keys revoked: %v, want 1", d)
	}
}

// Not parallel, for the same reason. A refused sign counts nothing.
func TestTokensSignedCounter(t *testing.T) {
	pool := dbtest.New(t, idempotency.Migrations, configvault.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := configvault.NewService(pool, kr, nil)
	ten, err := svc.CreateTenant(ctx, configvault.NewTenant{Name: "Signed", Domain: uniqueDomain("signed"), IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	es0, ed0 := counter(t, "saas_tokens_signed_total", "algorithm", "ES256"), counter(t, "saas_tokens_signed_total", "algorithm", "EdDSA")
	created0 := counter(t, "saas_keys_created_total", "algorithm", "ES256")
	for range 3 {
		if _, err := svc.SignToken(ctx, configvault.TokenRequest{TenantID: ten.ID, Claims: []byte(`{"sub":"u"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SignToken(ctx, configvault.TokenRequest{TenantID: ten.ID, Claims: []byte(`{"tenant_id":"other"}`)}); err == nil {
		t.Fatal("a foreign tenant_id was signed")
	}
	if d := counter(t, "saas_tokens_signed_total", "algorithm", "ES256") - es0; d != 3 {
		t.Errorf("ES256 tokens signed: %v, want 3", d)
	}
	if d := counter(t, "saas_tokens_signed_total", "algorithm", "EdDSA") - ed0; d != 0 {
		t.Errorf("EdDSA tokens signed: %v, want 0", d)
	}
	if d := counter(t, "saas_keys_created_total", "algorithm", "ES256") - created0; d != 1 {
		t.Errorf("ES256 keys created by first signs: %v, want 1", d)
	}
}
