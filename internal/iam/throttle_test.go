package iam_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/problem"
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

func check(t *testing.T, th *iam.Throttle, a iam.Attempt) time.Duration {
	t.Helper()
	d, err := th.Check(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fail(t *testing.T, th *iam.Throttle, a iam.Attempt) time.Duration {
	t.Helper()
	d, err := th.Failure(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The account policy by default: 5 free failures, then 1 s doubling up to
// 15 minutes; waiting out each block before the next guess, as a patient
// attacker would. A success starts the account afresh.
func TestThrottleAccountBackoffGrowsCapsAndResets(t *testing.T) {
	t.Parallel()
	th, c := newThrottle(t, iam.ThrottleConfig{Address: lenient})
	ctx := context.Background()
	a := iam.Attempt{TenantID: newID(t), Account: "Alice@Example.com", Address: netip.MustParseAddr("192.0.2.7")}

	want := []time.Duration{0, 0, 0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 512 * time.Second,
		15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := check(t, th, a); got != 0 {
			t.Fatalf("before failure %d: blocked for %v", i+1, got)
		}
		if got := fail(t, th, a); got != w {
			t.Fatalf("failure %d: blocked for %v, want %v", i+1, got, w)
		}
		if got := check(t, th, a); got != w {
			t.Fatalf("after failure %d: Check says %v, want %v", i+1, got, w)
		}
		// Checking (what a refused attempt does) changes nothing.
		c.Advance(w / 2)
		if got := check(t, th, a); got != w-w/2 {
			t.Fatalf("after failure %d and %v: Check says %v, want %v", i+1, w/2, got, w-w/2)
		}
		c.Advance(w - w/2)
	}
	// The account is the same however it is typed.
	variant := a
	variant.Account = "  alice@example.COM "
	if got := fail(t, th, variant); got != 15*time.Minute {
		t.Errorf("a differently typed login name has its own counter (blocked %v)", got)
	}
	c.Advance(15 * time.Minute)

	if err := th.Success(ctx, a); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if got := fail(t, th, a); got != 0 {
			t.Fatalf("after a success, failure %d blocked for %v", i+1, got)
		}
	}
	if got := fail(t, th, a); got != time.Second {
		t.Errorf("after a success, the 6th failure blocked for %v, want 1s", got)
	}
}

func TestThrottleForgetsQuietKeys(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 1, Base: time.Minute, Cap: 10 * time.Minute, ForgetAfter: time.Hour}
	th, c := newThrottle(t, iam.ThrottleConfig{Account: p, Address: lenient})
	ctx := context.Background()
	a := iam.Attempt{TenantID: newID(t), Account: "bob@example.com"}
	fail(t, th, a)
	if got := fail(t, th, a); got != time.Minute {
		t.Fatalf("second failure: %v", got)
	}
	c.Advance(time.Hour - time.Second)
	if got := fail(t, th, a); got != 2*time.Minute {
		t.Fatalf("within the hour the count goes on: %v, want 2m", got)
	}
	c.Advance(time.Hour)
	if got := fail(t, th, a); got != 0 {
		t.Errorf("after a quiet hour the count restarts: blocked %v, want 0", got)
	}
	c.Advance(2 * time.Hour)
	if n, err := th.Purge(ctx); err != nil || n != 1 {
		t.Errorf("purged %d keys (%v), want 1", n, err)
	}
}

// Failures from one address against many accounts block that address for
// every account, and nobody else: another address, another /64, another
// tenant.
func TestThrottleAddressIsSeparate(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 2, Base: time.Second, Cap: time.Minute, ForgetAfter: time.Hour}
	th, _ := newThrottle(t, iam.ThrottleConfig{Account: lenient, Address: p})
	ctx := context.Background()
	tenant := newID(t)
	attacker := netip.MustParseAddr("2001:db8:1:2:aaaa::1")
	for i, acct := range []string{"a@x.io", "b@x.io", "c@x.io"} {
		got := fail(t, th, iam.Attempt{TenantID: tenant, Account: acct, Address: attacker})
		if want := []time.Duration{0, 0, time.Second}[i]; got != want {
			t.Fatalf("failure %d: %v, want %v", i+1, got, want)
		}
	}
	tests := []struct {
		name string
		a    iam.Attempt
		want time.Duration
	}{
		{"same address, a fresh account", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: attacker}, time.Second},
		{"same /64", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: netip.MustParseAddr("2001:db8:1:2:ffff::9")}, time.Second},
		{"another /64", iam.Attempt{TenantID: tenant, Account: "victim@x.io", Address: netip.MustParseAddr("2001:db8:1:3::1")}, 0},
		{"another address, an account the attacker tried", iam.Attempt{TenantID: tenant, Account: "a@x.io", Address: netip.MustParseAddr("198.51.100.1")}, 0},
		{"another tenant", iam.Attempt{TenantID: newID(t), Account: "victim@x.io", Address: attacker}, 0},
		{"no address known", iam.Attempt{TenantID: tenant, Account: "victim@x.io"}, 0},
	}
	for _, tt := range tests {
		if got := check(t, th, tt.a); got != tt.want {
			t.Errorf("%s: wait %v, want %v", tt.name, got, tt.want)
		}
	}
	// A success on an account does not clear the address.
	if err := th.Success(ctx, iam.Attempt{TenantID: tenant, Account: "mine@x.io", Address: attacker}); err != nil {
		t.Fatal(err)
	}
	if got := check(t, th, tests[0].a); got != time.Second {
		t.Errorf("a success cleared the address: wait %v", got)
	}
}

func TestThrottleIPv4MappedSharesIPv4Key(t *testing.T) {
	t.Parallel()
	p := iam.ThrottlePolicy{FreeAttempts: 0, Base: time.Second, Cap: time.Second, ForgetAfter: time.Hour}
	th, _ := newThrottle(t, iam.ThrottleConfig{Account: lenient, Address: p})
	tenant := newID(t)
	fail(t, th, iam.Attempt{TenantID: tenant, Account: "a@x.io", Address: netip.MustParseAddr("::ffff:192.0.2.1")})
	if got := check(t, th, iam.Attempt{TenantID: tenant, Account: "b@x.io", Address: netip.MustParseAddr("192.0.2.1")}); got != time.Second {
		t.Errorf("the IPv4-mapped form has its own key (wait %v)", got)
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
		if _, err := iam.NewThrottle(nil, iam.ThrottleConfig{Account: p}); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
