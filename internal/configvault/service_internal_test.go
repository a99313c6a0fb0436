package configvault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	api "github.com/saasplatform/saas/gen/api/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/problem"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	t.Parallel()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keycrypto.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keycrypto.NewKeyring(mk)
	if err != nil {
		t.Fatal(err)
	}
	return NewService(dbtest.New(t, Migrations), kr, nil)
}

// The HTTP layer does not fill in the spec's defaults, so the handlers see
// absent optional fields as nil and must apply the defaults themselves.
func TestHandlersApplyDefaultsForAbsentFields(t *testing.T) {
	svc := newTestService(t)
	h := handlers{svc}
	ctx := context.Background()

	tr, err := h.CreateTenant(ctx, api.CreateTenantRequestObject{Body: &api.CreateTenantJSONRequestBody{Name: "t", Domain: "defaults.example"}})
	if err != nil {
		t.Fatal(err)
	}
	ten := tr.(api.CreateTenant201JSONResponse).Body
	if !ten.IsActive {
		t.Fatal("a tenant created without is_active is inactive")
	}
	sr, err := h.CreateSite(ctx, api.CreateSiteRequestObject{Body: &api.CreateSiteJSONRequestBody{TenantId: ten.Id, Name: "s", Domain: "site.defaults.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if !sr.(api.CreateSite201JSONResponse).Body.IsActive {
		t.Fatal("a site created without is_active is inactive")
	}
	kr, err := h.CreateKey(ctx, api.CreateKeyRequestObject{Body: &api.CreateKeyJSONRequestBody{TenantId: ten.Id}})
	if err != nil {
		t.Fatal(err)
	}
	k := kr.(api.CreateKey201JSONResponse).Body
	if k.Algorithm != api.RS256 || k.KeySize == nil || *k.KeySize != keycrypto.DefaultRSAKeySize || k.Status != api.Active {
		t.Fatalf("default key: %s %v %s", k.Algorithm, k.KeySize, k.Status)
	}
	if got := k.ExpiresAt.Sub(k.CreatedAt); got < DefaultKeyLifetimeDays*24*time.Hour-time.Minute || got > DefaultKeyLifetimeDays*24*time.Hour+time.Minute {
		t.Fatalf("key lifetime %v, want %d days", got, DefaultKeyLifetimeDays)
	}
	// Explicit values are kept, and the service bounds them.
	for days, ok := range map[int]bool{1: true, MaxKeyLifetimeDays: true, -1: false, MaxKeyLifetimeDays + 1: false} {
		_, err := svc.CreateKey(ctx, NewKey{TenantID: ten.Id, Algorithm: "EdDSA", ExpiresInDays: days})
		if (err == nil) != ok || (err != nil && !problem.Is(err, problem.KindInvalid)) {
			t.Errorf("expires_in_days %d: %v", days, err)
		}
	}
}

func TestKeyGenerationIsBoundedAndFollowsTheRequest(t *testing.T) {
	svc := newTestService(t)
	ctx := context.Background()
	ten, err := svc.CreateTenant(ctx, NewTenant{Name: "t", Domain: "bounded.example", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	var generated atomic.Int64
	svc.generate = func(spec keycrypto.Spec) (*keycrypto.Material, error) {
		generated.Add(1)
		return keycrypto.Generate(spec)
	}
	if cap(svc.generating) < 1 {
		t.Fatalf("semaphore of %d slots", cap(svc.generating))
	}
	// Every slot busy: a request waits, and gives up when it is cancelled.
	for range cap(svc.generating) {
		svc.generating <- struct{}{}
	}
	waiting, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := svc.CreateKey(waiting, NewKey{TenantID: ten.ID, Algorithm: "ES256"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateKey did not wait for a free slot: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	err = <-done
	if !problem.Is(err, problem.KindUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	if n := generated.Load(); n != 0 {
		t.Fatalf("%d keys generated without a slot", n)
	}
	// A request already cancelled does not take a free slot either.
	<-svc.generating
	if _, err := svc.CreateKey(waiting, NewKey{TenantID: ten.ID, Algorithm: "ES256"}); !errors.Is(err, context.Canceled) || generated.Load() != 0 {
		t.Fatalf("an already cancelled request: %v, %d generated", err, generated.Load())
	}
	// One slot freed while a request waits lets it through.
	svc.generating <- struct{}{}
	go func() {
		_, err := svc.CreateKey(ctx, NewKey{TenantID: ten.ID, Algorithm: "ES256"})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // usually enough to be waiting; either way the outcome is the same
	<-svc.generating
	if err := <-done; err != nil || generated.Load() != 1 {
		t.Fatalf("after a slot was freed: %v, %d generated", err, generated.Load())
	}
	if n := len(svc.generating); n != cap(svc.generating)-1 {
		t.Fatalf("%d slots taken after the generation, want the %d held here", n, cap(svc.generating)-1)
	}
}
