package configvault_test

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"testing"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

// masterKeys remembers the bytes of each test master key by its id, for
// tests that check the sealing itself.
var masterKeys sync.Map

func newMasterKey(t testing.TB) keycrypto.MasterKey {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keycrypto.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	masterKeys.Store(mk.ID, raw)
	return mk
}

func rawMasterKey(t testing.TB, id string) []byte {
	t.Helper()
	raw, ok := masterKeys.Load(id)
	if !ok {
		t.Fatalf("master key %s was not made by newMasterKey", id)
	}
	return raw.([]byte)
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestRotateMasterKeyResealsEveryKey(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("rotate")
	var keys []client.SigningKey
	for _, alg := range []client.KeyAlgorithm{client.ES256, client.EdDSA, client.ES256} {
		keys = append(keys, e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: &alg}))
	}
	fresh := newMasterKey(t)
	next, err := keycrypto.NewKeyring(fresh, e.masterKey)
	if err != nil {
		t.Fatal(err)
	}
	svc := configvault.NewService(e.pool, next, nil)
	n, err := svc.RotateMasterKey(ctx)
	if err != nil || n != len(keys) {
		t.Fatalf("resealed %d keys (%v), want %d", n, err, len(keys))
	}
	if n, err := svc.RotateMasterKey(ctx); err != nil || n != 0 {
		t.Fatalf("a second run resealed %d (%v), want 0", n, err)
	}
	var stale int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.signing_keys WHERE master_key_id <> $1", next.CurrentID()).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d keys still sealed under an old master key (%v)", stale, err)
	}
	// Every key still signs, under the new master key alone.
	alone, err := keycrypto.NewKeyring(fresh)
	if err != nil {
		t.Fatal(err)
	}
	e.keyring = alone
	for _, k := range keys {
		signer := e.storedSigner(k)
		if _, err := keycrypto.SignJWT(signer, keycrypto.Algorithm(k.Algorithm), k.Kid, []byte(`{}`), "at+jwt"); err != nil {
			t.Fatal(err)
		}
	}
}
