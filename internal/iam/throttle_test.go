package iam_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lestrrat-go/jwx/v2/jwk"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

func newThrottle(t *testing.T, cfg iam.ThrottleConfig) (*iam.Throttle, *clock) {
	t.Helper()
	c := newClock()
	cfg.Now = c.Now
	th, err := iam.NewThrottle(dbtest.New(t, iam.Migrations), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return th, c
}

// lenient never blocks within a test's few attempts.
var lenient = iam.ThrottlePolicy{FreeAttempts: 1000, Base: time.Second, Cap: time.Second, ForgetAfter: time.Hour}

// admit is Admit, failing the test on an error: the wait the attempt was
// refused with, 0 when it was counted and went ahead.
func admit(t *testing.T, th *iam.Throttle, a iam.Attempt) time.Duration {
	t.Helper()
	d, err := th.Admit(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The pair policy by default: 5 free attempts, then 1 s doubling up to 15
// minutes; waiting out each block before the next guess, as a patient
// attacker would. A refused attempt changes nothing; a success starts the
// pair afresh.
func TestThrottlePairBackoffGrowsCapsAndResets(t *testing.T) {
	t.Parallel()
	th, c := newThrottle(t, iam.ThrottleConfig{Account: lenient, Address: lenient})
	ctx := context.Background()
	a := iam.Attempt{TenantID: newID(t), Account: "Alice@Example.com", Address: netip.MustParseAddr("192.0.2.7")}

	want := []time.Duration{0, 0, 0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 512 * time.Second,
		15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := admit(t, th, a); got != 0 {
			t.Fatalf("attempt %d: refused for %v", i+1, got)
		}
		if w == 0 {
			continue
		}
		if got := admit(t, th, a); got != w {
			t.Fatalf("after attempt %d: refused for %v, want %v", i+1, got, w)
		}
		c.Advance(w / 2)
		if got := admit(t, th, a); got != w-w/2 {
			t.Fatalf("after attempt %d and %v: refused for %v, want %v", i+1, w/2, got, w-w/2)
		}
		c.Advance(w - w/2)
	}
	// The account is the same however it is typed.
	variant := a
	variant.Account = "  alice@example.COM "
	if got := admit(t, th, variant); got != 0 {
		t.Fatalf("refused for %v", got)
	}
	if got := admit(t, th, a); got != 15*time.Minute {
		t.Errorf("a differently typed login name has its own counter (refused for %v)", got)
	}
	c.Advance(15 * time.Minute)

	if got := admit(t, th, a); got != 0 {
		t.Fatalf("refused for %v", got)
	}
	if err := th.Success(ctx, a); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if got := admit(t, th, a); got != 0 {
			t.Fatalf("after a success, attempt %d refused for %v", i+1, got)
		}
	}
	if got := admit(t, th, a); got != time.Second {
		t.Errorf("after a success and 6 attempts: refused for %v, want 1s", got)
	}
}

func TestThrottleForgetsQuietKeys(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 1, Base: time.Minute, Cap: 10 * time.Minute, ForgetAfter: time.Hour}
	th, c := newThrottle(t, iam.ThrottleConfig{Pair: p, Account: lenient, Address: lenient})
	ctx := context.Background()
	a := iam.Attempt{TenantID: newID(t), Account: "bob@example.com", Address: netip.MustParseAddr("192.0.2.8")}
	admit(t, th, a)
	admit(t, th, a)
	if got := admit(t, th, a); got != time.Minute {
		t.Fatalf("after the second attempt: %v, want 1m", got)
	}
	c.Advance(time.Hour - time.Second)
	admit(t, th, a)
	if got := admit(t, th, a); got != 2*time.Minute {
		t.Fatalf("within the hour the count goes on: %v, want 2m", got)
	}
	c.Advance(time.Hour)
	admit(t, th, a)
	if got := admit(t, th, a); got != 0 {
		t.Fatalf("after a quiet hour the count restarts: refused for %v", got)
	}
	if got := admit(t, th, a); got != time.Minute {
		t.Errorf("after a quiet hour and two attempts: %v, want 1m", got)
	}
	c.Advance(2 * time.Hour)
	// The pair, the account and the address.
	if n, err := th.Purge(ctx); err != nil || n != 3 {
		t.Errorf("purged %d keys (%v), want 3", n, err)
	}
}

// Attempts from one address at many accounts block that address for every
// account of every tenant, and nobody else: another address, another /64.
func TestThrottleAddressIsSeparate(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 2, Base: time.Second, Cap: time.Minute, ForgetAfter: time.Hour}
	th, _ := newThrottle(t, iam.ThrottleConfig{Pair: lenient, Account: lenient, Address: p})
	tenant := newID(t)
	attacker := netip.MustParseAddr("2001:db8:1:2:aaaa::1")
	for i, acct := range []string{"a@x.io", "b@x.io", "c@x.io"} {
		if got := admit(t, th, iam.Attempt{TenantID: tenant, Account: acct, Address: attacker}); got != 0 {
			t.Fatalf("attempt %d: refused for %v", i+1, got)
		}
	}
	tests := []struct {
		name string
		a    iam.Attempt
		want time.Duration
	}{
		{"same address, a fresh account", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: attacker}, time.Second},
		{"same /64", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: netip.MustParseAddr("2001:db8:1:2:ffff::9")}, time.Second},
		{"same address, another tenant", iam.Attempt{TenantID: newID(t), Account: "victim@x.io", Address: attacker}, time.Second},
		{"another /64", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: netip.MustParseAddr("2001:db8:1:3::1")}, 0},
		{"another address, an account the attacker tried", iam.Attempt{TenantID: tenant, Account: "a@x.io", Address: netip.MustParseAddr("198.51.100.1")}, 0},
		{"no address known", iam.Attempt{TenantID: tenant, Account: "victim@x.io"}, 0},
	}
	for _, tt := range tests {
		if got := admit(t, th, tt.a); got != tt.want {
			t.Errorf("%s: wait %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A right password takes back its own attempt from the address, and no
// more: signing in to an account of one's own between guesses at others'
// does not clear the guesses.
func TestThrottleSuccessTakesBackOneAttemptFromTheAddress(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 2, Base: time.Second, Cap: time.Minute, ForgetAfter: time.Hour}
	th, _ := newThrottle(t, iam.ThrottleConfig{Pair: lenient, Account: lenient, Address: p})
	at := func(account string) iam.Attempt {
		return iam.Attempt{TenantID: newID(t), Account: account, Address: netip.MustParseAddr("192.0.2.9")}
	}
	admit(t, th, at("a@x.io"))
	admit(t, th, at("b@x.io"))
	mine := at("mine@x.io")
	if got := admit(t, th, mine); got != 0 {
		t.Fatalf("the third attempt: refused for %v", got)
	}
	if err := th.Success(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	if got := admit(t, th, at("c@x.io")); got != 0 {
		t.Fatalf("after the success: refused for %v, want the block of the third attempt lifted", got)
	}
	if got := admit(t, th, at("d@x.io")); got != time.Second {
		t.Errorf("after the success and a guess: %v, want 1s (the earlier guesses still count)", got)
	}
}

func TestThrottleIPv4MappedSharesIPv4Key(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 0, Base: time.Second, Cap: time.Second, ForgetAfter: time.Hour}
	th, _ := newThrottle(t, iam.ThrottleConfig{Pair: lenient, Account: lenient, Address: p})
	tenant := newID(t)
	admit(t, th, iam.Attempt{TenantID: tenant, Account: "a@x.io", Address: netip.MustParseAddr("::ffff:192.0.2.1")})
	if got := admit(t, th, iam.Attempt{TenantID: tenant, Account: "b@x.io", Address: netip.MustParseAddr("192.0.2.1")}); got != time.Second {
		t.Errorf("the IPv4-mapped form has its own key (wait %v)", got)
	}
}

// Attempts at the same instant are decided one after another, also while
// their keys do not exist yet: on each key no more go ahead than its free
// attempts and the one that blocks it.
func TestThrottleAdmitsConcurrentAttemptsOneByOne(t *testing.T) {
	t.Parallel()
	th, _ := newThrottle(t, iam.ThrottleConfig{})
	tenant := newID(t)
	addr := netip.MustParseAddr("192.0.2.10")
	for name, c := range map[string]struct {
		account func(i int) string
		want    int
	}{
		"one account: the pair's 5 free and 1":  {func(int) string { return "ada@example.com" }, 6},
		"many accounts: the address's 20 and 1": {func(i int) string { return fmt.Sprintf("u%d@example.com", i) }, 21},
	} {
		codes := testkit.Concurrently(60, func(i int) int {
			d, err := th.Admit(context.Background(), iam.Attempt{TenantID: tenant, Account: c.account(i), Address: addr})
			switch {
			case err != nil:
				t.Error(err)
				return -1
			case d > 0:
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		})
		if got := testkit.Tally(codes); got[http.StatusOK] != c.want || got[http.StatusTooManyRequests] != 60-c.want {
			t.Errorf("%s: %v, want %d admitted", name, got, c.want)
		}
		addr = netip.MustParseAddr("192.0.2.11")
	}
}

// Right passwords signing in to one account from one address, many at a
// time and over and over (a service account's workers behind one NAT, or
// `make bench-load`'s login scenario): every attempt is either admitted or,
// past the pair's free attempts in flight, refused with a wait; none fails.
// When a success deleted the account's and the pair's rows, concurrent
// attempts kept re-creating them and ran into each other's inserts until
// Admit gave up with a unique violation (a 409 to the client).
func TestThrottleConcurrentSuccessesNeverFail(t *testing.T) {
	t.Parallel()
	th, _ := newThrottle(t, iam.ThrottleConfig{Pair: lenient, Account: lenient, Address: lenient})
	a := iam.Attempt{TenantID: newID(t), Account: "svc@example.com", Address: netip.MustParseAddr("192.0.2.77")}
	ctx := context.Background()
	failures := testkit.Concurrently(16, func(int) int {
		failed := 0
		for range 40 {
			d, err := th.Admit(ctx, a)
			if err == nil && d == 0 {
				err = th.Success(ctx, a)
			}
			if err != nil {
				t.Log(err)
				failed++
			}
		}
		return failed
	})
	for _, n := range failures {
		if n > 0 {
			t.Fatalf("failed sign-ins per worker: %v, want none", failures)
		}
	}
}

func TestRateLimitedCarriesRetryAfter(t *testing.T) {
	err := iam.RateLimited(90 * time.Second)
	var pe *problem.Error
	if !problem.Is(err, problem.KindRateLimited) || !asProblem(err, &pe) || pe.RetryAfter != 90*time.Second {
		t.Errorf("RateLimited = %#v", err)
	}
}

func asProblem(err error, target **problem.Error) bool {
	pe, ok := err.(*problem.Error)
	*target = pe
	return ok
}

func TestNewThrottleRejectsBadPolicies(t *testing.T) {
	for _, p := range []iam.ThrottlePolicy{
		{FreeAttempts: -1, Base: time.Second, Cap: time.Second, ForgetAfter: time.Hour},
		{FreeAttempts: 1, Base: 0, Cap: time.Second, ForgetAfter: time.Hour},
		{FreeAttempts: 1, Base: time.Minute, Cap: time.Second, ForgetAfter: time.Hour},
		{FreeAttempts: 1, Base: time.Second, Cap: time.Second},
	} {
		for _, cfg := range []iam.ThrottleConfig{{Pair: p}, {Account: p}, {Address: p}} {
			if _, err := iam.NewThrottle(nil, cfg); err == nil {
				t.Errorf("%+v accepted", cfg)
			}
		}
	}
}

// signIn plays the throttle's part of one sign-in with the right password or
// a wrong one: the wait it was refused with, 0 when it went ahead.
func signIn(t *testing.T, th *iam.Throttle, a iam.Attempt, right bool) time.Duration {
	t.Helper()
	if wait := admit(t, th, a); wait > 0 || !right {
		return wait
	}
	if err := th.Success(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return 0
}

// An attacker at one address guessing a victim's password every minute, an
// hour ahead and then for 24 hours, does not keep the victim, signing in from
// another address every minute, out: the attacker's own (account, address)
// pair takes the escalating blocks, and the account-wide block is short.
func TestThrottleAttackerCannotLockTheVictimOut(t *testing.T) {
	t.Parallel()
	th, c := newThrottle(t, iam.ThrottleConfig{})
	attacker := iam.Attempt{TenantID: newID(t), Account: "victim@example.com", Address: netip.MustParseAddr("203.0.113.66")}
	victim := attacker
	victim.Address = netip.MustParseAddr("198.51.100.20")

	for range 60 {
		signIn(t, th, attacker, false)
		c.Advance(time.Minute)
	}
	const minutes = 24 * 60
	in := 0
	for range minutes {
		signIn(t, th, attacker, false)
		c.Advance(30 * time.Second)
		if signIn(t, th, victim, true) == 0 {
			in++
		}
		c.Advance(30 * time.Second)
	}
	if in < minutes*9/10 {
		t.Errorf("the victim got in %d of %d minutes, want at least 90%%", in, minutes)
	}
}

// Guessing at one account from ever new addresses (distributed guessing) is
// slowed down by the account-wide key, whose blocks never outlast its short
// cap: whoever signs in to the account waits 30 s at most.
func TestThrottleAccountWideBlocksAreShort(t *testing.T) {
	t.Parallel()
	th, c := newThrottle(t, iam.ThrottleConfig{})
	tenant := newID(t)
	for i := range 300 {
		a := iam.Attempt{TenantID: tenant, Account: "victim@example.com", Address: netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)})}
		wait := signIn(t, th, a, false)
		if wait > 30*time.Second {
			t.Fatalf("guess %d: the account is blocked for %v", i+1, wait)
		}
		c.Advance(wait)
	}
	signIn(t, th, iam.Attempt{TenantID: tenant, Account: "victim@example.com", Address: netip.MustParseAddr("10.9.9.9")}, false)
	victim := iam.Attempt{TenantID: tenant, Account: "victim@example.com", Address: netip.MustParseAddr("198.51.100.20")}
	if wait := signIn(t, th, victim, true); wait <= 0 || wait > 30*time.Second {
		t.Errorf("right after a guess the victim waits %v, want the account-wide block (0 < wait <= 30s)", wait)
	}
}

// The address key is the same in every tenant: guessing in ever new tenants
// from one address is throttled like guessing in one. An attempt refused
// writes nothing, so the rows an address costs are bounded: one per key of
// each attempt counted.
func TestThrottleAddressIsGlobalAndRowsAreBounded(t *testing.T) {
	t.Parallel()
	th, c := newThrottle(t, iam.ThrottleConfig{})
	addr := netip.MustParseAddr("203.0.113.9")
	counted := 0
	for range 140 {
		if signIn(t, th, iam.Attempt{TenantID: newID(t), Account: "ada@example.com", Address: addr}, false) == 0 {
			counted++
		}
	}
	// 20 free attempts, and the 21st blocks the address.
	if counted != 21 {
		t.Errorf("%d of 140 guesses in random tenants went ahead, want 21", counted)
	}
	c.Advance(24 * time.Hour)
	n, err := th.Purge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Each tenant's account and (account, address) pair, and the address.
	if want := int64(2*counted + 1); n != want {
		t.Errorf("%d rows, want %d", n, want)
	}
}

// 60 wrong guesses at one account at the same instant: each is counted before
// its password is checked, so no more reach UAM than the attempts that are
// free and the one that starts the block; the others are refused unchecked.
func TestLoginConcurrentGuessesAreBounded(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com")
	codes := testkit.Concurrently(60, func(int) int { return e.login(&tenant, "ada@example.com", "wrong guess").StatusCode() })
	got := testkit.Tally(codes)
	if got[http.StatusUnauthorized] > 6 || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != 60 {
		t.Errorf("answers %v, want at most 6 401 and the rest 429", got)
	}
}

// offlineService is the service over a fresh database with UAM and Config
// Vault unreachable, its throttle on the clock c.
func offlineService(t *testing.T, c *clock) (*iam.Service, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.New(t, iam.Migrations)
	users, err := uamclient.NewClientWithResponses("http://127.0.0.1:1")
	must(t, err)
	vault, err := cvclient.NewClientWithResponses("http://127.0.0.1:1")
	must(t, err)
	verifier, err := authn.New(authn.Options{Audience: "http://localhost:8000", IssuerPrefix: authn.DefaultIssuerPrefix("http://localhost:8000"),
		Keys: authn.KeySourceFunc(func(context.Context, uuid.UUID) (jwk.Set, error) { return jwk.NewSet(), nil })})
	must(t, err)
	svc, err := iam.NewService(pool, users, vault, iam.Options{PublicURL: "http://localhost:8000", PlatformTenantID: newID(t),
		Verifier: verifier, Throttle: iam.ThrottleConfig{Now: c.Now}})
	must(t, err)
	return svc, pool
}

// A sign-in that ends in 503 (UAM unreachable here; its hashes all busy, in
// production) stays counted: UAM may have checked the password before the
// answer was lost, and an attacker able to overload it must not guess for
// free.
func TestLoginAttemptsEndingIn503StayCounted(t *testing.T) {
	t.Parallel()
	svc, _ := offlineService(t, newClock())
	tenant := newID(t)
	in := iam.LoginInput{TenantID: &tenant, Email: "ada@example.com", Password: "a guess", Address: netip.MustParseAddr("192.0.2.1")}
	for i := range 6 {
		if _, err := svc.Login(context.Background(), in); !problem.Is(err, problem.KindUnavailable) {
			t.Fatalf("attempt %d: %v, want unavailable", i+1, err)
		}
	}
	if _, err := svc.Login(context.Background(), in); !problem.Is(err, problem.KindRateLimited) {
		t.Errorf("after 6 attempts ending in 503: %v, want rate limited", err)
	}
}

// Purge purges sign-in attempts even when purging sessions fails, and
// reports the failure.
func TestServicePurgeDoesBothAndJoinsErrors(t *testing.T) {
	t.Parallel()
	svc, pool := offlineService(t, newClock())
	_, err := pool.Exec(context.Background(), `INSERT INTO iam.login_failures (tenant_id, kind, key, failures, last_failed_at)
		VALUES ($1, 'account', 'ada@example.com', 1, now() - interval '1 day')`, newID(t))
	must(t, err)
	_, err = pool.Exec(context.Background(), `ALTER TABLE iam.refresh_tokens RENAME TO refresh_tokens_gone`)
	must(t, err)
	if _, err := svc.Purge(context.Background()); err == nil {
		t.Error("a failed purge of sessions went unreported")
	}
	var left int
	must(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM iam.login_failures`).Scan(&left))
	if left != 0 {
		t.Errorf("%d sign-in rows left behind", left)
	}
}
