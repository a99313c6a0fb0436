package configvault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	api "github.com/saasplatform/saas/gen/api/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/problem"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	svc, _ := newTestServiceAndPool(t)
	return svc
}

func newTestServiceAndPool(t *testing.T) (*Service, *pgxpool.Pool) {
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
	pool := dbtest.New(t, Migrations)
	return NewService(pool, kr, nil), pool
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

// busyService is a service whose every RSA generation slot is taken, as if
// that many RSA keys were being generated, with a generator that counts its
// calls. Its slot wait is an hour, so no test here ends by the clock unless
// it shortens it; the hooks say when a request waits.
func busyService(t *testing.T) (*Service, Tenant, *atomic.Int64) {
	t.Helper()
	svc := newTestService(t)
	if svc.rsaSlotWait != maxRSASlotWait || maxRSASlotWait <= 0 {
		t.Fatalf("RSA slot wait %v, want the bound %v", svc.rsaSlotWait, maxRSASlotWait)
	}
	ten, err := svc.CreateTenant(context.Background(), NewTenant{Name: "t", Domain: "busy.example", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	generated := new(atomic.Int64)
	svc.generate = func(spec keycrypto.Spec) (*keycrypto.Material, error) {
		generated.Add(1)
		return keycrypto.Generate(spec)
	}
	if cap(svc.rsaSlots) < 1 {
		t.Fatalf("semaphore of %d slots", cap(svc.rsaSlots))
	}
	for range cap(svc.rsaSlots) {
		svc.rsaSlots <- struct{}{}
	}
	svc.rsaSlotWait = time.Hour
	return svc, ten, generated
}

// guard bounds a call that must not block, so that a regression fails the
// test instead of hanging it; passing never comes near the limit.
func guard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestCurveKeysNeverWaitForRSASlots(t *testing.T) {
	svc, ten, generated := busyService(t)
	for _, alg := range []string{"ES256", "EdDSA"} {
		ctx, cancel := context.WithCancel(guard(t))
		svc.waitingForRSASlot = func() {
			t.Errorf("an %s create waited for an RSA slot", alg)
			cancel()
		}
		if _, err := svc.CreateKey(ctx, NewKey{TenantID: ten.ID, Algorithm: alg}); err != nil {
			t.Fatalf("%s with every RSA slot busy: %v", alg, err)
		}
		cancel()
	}
	if n := generated.Load(); n != 2 {
		t.Fatalf("%d keys generated, want 2", n)
	}
}

func TestWaitingForAnRSASlotIsBounded(t *testing.T) {
	svc, ten, generated := busyService(t)
	// Every slot stays taken, so only the bound can end the wait.
	svc.rsaSlotWait = time.Millisecond
	waited := false
	svc.waitingForRSASlot = func() { waited = true }
	_, err := svc.CreateKey(guard(t), NewKey{TenantID: ten.ID, Algorithm: "PS256"})
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindUnavailable || pe.RetryAfter != rsaBusyRetryAfter {
		t.Fatalf("after waiting for a slot in vain: %v, want 503 with Retry-After %v", err, rsaBusyRetryAfter)
	}
	if !waited || generated.Load() != 0 {
		t.Fatalf("waited %v, %d keys generated", waited, generated.Load())
	}
}

func TestCancelledWhileWaitingForAnRSASlot(t *testing.T) {
	svc, ten, generated := busyService(t)
	ctx, cancel := context.WithCancel(guard(t))
	svc.waitingForRSASlot = cancel // the client leaves as soon as its request queues
	_, err := svc.CreateKey(ctx, NewKey{TenantID: ten.ID, Algorithm: "RS256"})
	if !errors.Is(err, context.Canceled) || problem.Is(err, problem.KindUnavailable) {
		t.Fatalf("cancelled while waiting: %v, want the context's error, not busy", err)
	}
	if n := generated.Load(); n != 0 {
		t.Fatalf("%d keys generated without a slot", n)
	}
}

// A request whose context is done before it asks for a slot gets its
// context's error. Through CreateKey the owner check's query already refuses
// a done context, so the wait is asked directly too.
func TestAnEndedRequestGetsItsContextError(t *testing.T) {
	svc, ten, generated := busyService(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	rsa := keycrypto.Spec{Algorithm: keycrypto.RS256, KeySize: keycrypto.DefaultRSAKeySize}
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		if m, err := svc.generateKey(tc.ctx, rsa); m != nil || !errors.Is(err, tc.want) || problem.Is(err, problem.KindUnavailable) {
			t.Errorf("generateKey: %v, %v; want %v", m, err, tc.want)
		}
		if _, err := svc.CreateKey(tc.ctx, NewKey{TenantID: ten.ID, Algorithm: "RS256"}); !errors.Is(err, tc.want) || problem.Is(err, problem.KindUnavailable) {
			t.Errorf("CreateKey: %v; want %v", err, tc.want)
		}
	}
	if n := generated.Load(); n != 0 {
		t.Fatalf("%d keys generated for requests already over", n)
	}
}

// Generation cannot be interrupted; a request that ended while its key was
// being generated gets its context's error and leaves no key behind.
func TestNoKeyIsStoredForARequestThatEndedDuringGeneration(t *testing.T) {
	svc := newTestService(t)
	ten, err := svc.CreateTenant(context.Background(), NewTenant{Name: "t", Domain: "gone.example", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	// leaving is a request context that ends while its key is generated:
	// the client leaves then.
	leaving := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		svc.generate = func(spec keycrypto.Spec) (*keycrypto.Material, error) {
			cancel()
			return keycrypto.Generate(spec)
		}
		return ctx
	}
	for _, alg := range []string{"RS256", "EdDSA"} {
		spec, err := keycrypto.ParseSpec(alg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := svc.generateKey(leaving(), spec); m != nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: generateKey handed out %v, %v after its request ended", alg, m, err)
		}
		if _, err := svc.CreateKey(leaving(), NewKey{TenantID: ten.ID, Algorithm: alg}); !errors.Is(err, context.Canceled) || problem.Is(err, problem.KindUnavailable) {
			t.Errorf("%s: CreateKey: %v, want the context's error", alg, err)
		}
	}
	keys, err := svc.store.listKeys(context.Background(), ten.ID, nil, nil, nil, 10)
	if err != nil || len(keys) != 0 {
		t.Fatalf("%d keys stored for requests that ended (%v)", len(keys), err)
	}
}

func TestAFreedRSASlotLetsAWaitingRequestThrough(t *testing.T) {
	svc, ten, generated := busyService(t)
	waited := false
	svc.waitingForRSASlot = func() {
		waited = true
		<-svc.rsaSlots // a running generation finishes as the request queues
	}
	if _, err := svc.CreateKey(guard(t), NewKey{TenantID: ten.ID, Algorithm: "RS256"}); err != nil {
		t.Fatalf("after a slot was freed: %v", err)
	}
	if !waited || generated.Load() != 1 {
		t.Fatalf("waited %v, %d keys generated", waited, generated.Load())
	}
	if n := len(svc.rsaSlots); n != cap(svc.rsaSlots)-1 {
		t.Fatalf("%d slots taken after the generation, want the %d held here", n, cap(svc.rsaSlots)-1)
	}
}
