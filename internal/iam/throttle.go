package iam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// ThrottlePolicy is the backoff of one kind of key. The first FreeAttempts
// failures cost nothing; the n-th failure beyond them blocks the key for
// Base * 2^(n-1), never more than Cap. A key with no failure for ForgetAfter
// starts again from zero.
type ThrottlePolicy struct {
	FreeAttempts int
	Base         time.Duration
	Cap          time.Duration
	ForgetAfter  time.Duration
}

// Default throttling: an account may fail 5 times, an address (which may be
// a shared NAT) 20, before delays start at 1 s and double up to 15 minutes.
// After an hour without failures the key is forgotten.
var (
	DefaultAccountPolicy = ThrottlePolicy{FreeAttempts: 5, Base: time.Second, Cap: 15 * time.Minute, ForgetAfter: time.Hour}
	DefaultAddressPolicy = ThrottlePolicy{FreeAttempts: 20, Base: time.Second, Cap: 15 * time.Minute, ForgetAfter: time.Hour}
)

func (p ThrottlePolicy) validate() error {
	if p.FreeAttempts < 0 || p.Base <= 0 || p.Cap < p.Base || p.ForgetAfter <= 0 {
		return errors.New("iam: a throttle policy needs FreeAttempts >= 0, 0 < Base <= Cap and ForgetAfter > 0")
	}
	return nil
}

// ThrottleConfig configures Throttle; zero policies take the defaults.
type ThrottleConfig struct {
	Account ThrottlePolicy
	Address ThrottlePolicy
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Attempt names one sign-in attempt: the tenant it was for, the login name
// as typed (an email; it need not exist), and the client's address.
type Attempt struct {
	TenantID uuid.UUID
	Account  string
	Address  netip.Addr
}

// Throttle slows down password guessing, per account and per source
// address, without ever locking an account (schema/iam/00001_init.sql has
// the rules):
//
//   - Check before verifying a password: a positive duration means refuse
//     with 429 and that Retry-After, without checking (RateLimited). Refused
//     attempts are not failures, so they neither extend nor deepen a block.
//   - Failure after a wrong password (or unknown account: the same, so
//     throttling tells nothing about which accounts exist).
//   - Success after a right one: the account starts afresh. The address does
//     not, or an attacker could clear it by signing in to an account of their
//     own between guesses at others'; it is forgotten after ForgetAfter.
//
// Every block ends by itself within Cap, and only new failures renew it, each
// of them throttled per address as well: an attacker can delay a victim by at
// most Cap per failed guess, never lock them out for good.
type Throttle struct {
	q       *db.Queries
	account ThrottlePolicy
	address ThrottlePolicy
	now     func() time.Time
}

// NewThrottle returns the throttle over the pool's iam schema.
func NewThrottle(pool *pgxpool.Pool, cfg ThrottleConfig) (*Throttle, error) {
	if cfg.Account == (ThrottlePolicy{}) {
		cfg.Account = DefaultAccountPolicy
	}
	if cfg.Address == (ThrottlePolicy{}) {
		cfg.Address = DefaultAddressPolicy
	}
	if err := cfg.Account.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Address.validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Throttle{q: db.New(pool), account: cfg.Account, address: cfg.Address, now: cfg.Now}, nil
}

const (
	kindAccount = "account"
	kindAddress = "address"
	maxKeyLen   = 320
)

// accountKey is the login name as the throttle knows it: trimmed and lower
// case, so that "Alice@x" and "alice@x " share one counter; an overlong one
// is hashed to fit. "" when there is none.
func accountKey(account string) string {
	k := strings.ToLower(strings.TrimSpace(account))
	if utf8.RuneCountInString(k) > maxKeyLen || !utf8.ValidString(k) {
		h := sha256.Sum256([]byte(k))
		return "sha256:" + hex.EncodeToString(h[:])
	}
	return k
}

// addressKey is the address as the throttle knows it: an IPv4 address, or
// the /64 of an IPv6 one (the smallest block a single subscriber gets, so
// hopping addresses inside it gains nothing). "" when there is none.
func addressKey(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// Check tells how long the attempt must wait: 0 to go ahead, otherwise the
// longer of the account's and the address's remaining blocks.
func (t *Throttle) Check(ctx context.Context, a Attempt) (time.Duration, error) {
	now := t.now()
	rows, err := t.q.LoginBlocks(ctx, db.LoginBlocksParams{TenantID: a.TenantID,
		Account: accountKey(a.Account), Address: addressKey(a.Address), Now: now})
	if err != nil {
		return 0, pg.Classify(err)
	}
	var wait time.Duration
	for _, r := range rows {
		wait = max(wait, r.BlockedUntil.Sub(now))
	}
	return wait, nil
}

// Failure records a failed attempt against the account and the address and
// returns how long they are now blocked (0 while failures are still free).
func (t *Throttle) Failure(ctx context.Context, a Attempt) (time.Duration, error) {
	now := t.now()
	var wait time.Duration
	for _, k := range []struct {
		kind, key string
		p         ThrottlePolicy
	}{
		{kindAccount, accountKey(a.Account), t.account},
		{kindAddress, addressKey(a.Address), t.address},
	} {
		if k.key == "" {
			continue
		}
		row, err := t.q.RecordLoginFailure(ctx, db.RecordLoginFailureParams{
			TenantID: a.TenantID, Kind: k.kind, Key: k.key, Now: now,
			FreeAttempts: int32(min(k.p.FreeAttempts, 1<<30)), BaseMs: k.p.Base.Milliseconds(),
			CapMs: k.p.Cap.Milliseconds(), ForgetAfterMs: k.p.ForgetAfter.Milliseconds(),
		})
		if err != nil {
			return 0, pg.Classify(err)
		}
		if row.BlockedUntil != nil {
			wait = max(wait, row.BlockedUntil.Sub(now))
		}
	}
	return wait, nil
}

// Success clears the account's failures after a correct password.
func (t *Throttle) Success(ctx context.Context, a Attempt) error {
	key := accountKey(a.Account)
	if key == "" {
		return nil
	}
	err := t.q.ResetLoginFailures(ctx, db.ResetLoginFailuresParams{TenantID: a.TenantID, Kind: kindAccount, Key: key})
	return pg.Classify(err)
}

// Purge deletes keys no longer blocked and quiet for longer than both
// policies' ForgetAfter: they would start from zero anyway.
func (t *Throttle) Purge(ctx context.Context) (int64, error) {
	n, err := t.q.PurgeLoginFailures(ctx, t.now().Add(-max(t.account.ForgetAfter, t.address.ForgetAfter)))
	return n, pg.Classify(err)
}

// RateLimited is the answer to an attempt Check holds back: 429 with
// Retry-After, the same words whichever key is blocked.
func RateLimited(wait time.Duration) error {
	return &problem.Error{Kind: problem.KindRateLimited, Detail: "too many failed sign-in attempts; try again later",
		RetryAfter: wait}
}
