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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// ThrottlePolicy is the backoff of one kind of key. The first FreeAttempts
// attempts cost nothing; the n-th attempt beyond them blocks the key for
// Base * 2^(n-1), never more than Cap. A key with no attempt for ForgetAfter
// starts again from zero.
type ThrottlePolicy struct {
	FreeAttempts int
	Base         time.Duration
	Cap          time.Duration
	ForgetAfter  time.Duration
}

// Default throttling. Guessing from one address escalates on the (account,
// address) pair: 5 free attempts, then 1 s doubling up to 15 minutes. The
// account from anywhere may take 10 before its blocks start, and they stop
// at 30 s: enough to slow guessing spread over many addresses, never enough to
// keep the account's owner out for long. An address (which may be a shared
// NAT) may make 20 attempts at any accounts of any tenants, then as the pair.
// Every key is forgotten after an hour without attempts.
var (
	DefaultPairPolicy    = ThrottlePolicy{FreeAttempts: 5, Base: time.Second, Cap: 15 * time.Minute, ForgetAfter: time.Hour}
	DefaultAccountPolicy = ThrottlePolicy{FreeAttempts: 10, Base: time.Second, Cap: 30 * time.Second, ForgetAfter: time.Hour}
	DefaultAddressPolicy = ThrottlePolicy{FreeAttempts: 20, Base: time.Second, Cap: 15 * time.Minute, ForgetAfter: time.Hour}
)

// free is FreeAttempts as the database takes it.
func (p ThrottlePolicy) free() int32 { return int32(min(p.FreeAttempts, 1<<30)) }

func (p ThrottlePolicy) validate() error {
	if p.FreeAttempts < 0 || p.Base <= 0 || p.Cap < p.Base || p.ForgetAfter <= 0 {
		return errors.New("iam: a throttle policy needs FreeAttempts >= 0, 0 < Base <= Cap and ForgetAfter > 0")
	}
	return nil
}

// ThrottleConfig configures Throttle; zero policies take the defaults.
type ThrottleConfig struct {
	// Pair is the policy of an account at one address, Account of the
	// account from anywhere, Address of an address at any account.
	Pair    ThrottlePolicy
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

// Throttle slows down password guessing without letting anyone lock an
// account's owner out (schema/iam/00003_login_attempts_counted_first.sql has
// the rules). An attempt has three keys: the (account, address) pair, the
// account, and the address, which is global across tenants.
//
//   - Admit before verifying a password counts the attempt against every key
//     at once, as a failure until proven otherwise, or refuses it when a key
//     is blocked: then answer 429 with that Retry-After (RateLimited), without
//     checking, and nothing is counted. Counting and deciding in one step
//     bounds concurrent guesses: on each key, no more go ahead than its free
//     attempts and the one that blocks it.
//   - Success after a right password takes the attempt back: the account and
//     the pair start afresh, the address forgets this one attempt only (or an
//     attacker could clear it by signing in to an account of their own
//     between guesses at others').
//
// Any other end of an admitted attempt, a wrong password, an unknown account
// (the same, so throttling tells nothing about which accounts exist), a 503 or
// a request cut short, leaves it counted. An attacker at one address escalates
// their own pair (up to 15 minutes by default); what they cost the owner
// elsewhere is the account-wide block, at most its cap (30 s) per attempt
// their own blocks let through.
type Throttle struct {
	q       *db.Queries
	pair    ThrottlePolicy
	account ThrottlePolicy
	address ThrottlePolicy
	now     func() time.Time
}

// NewThrottle returns the throttle over the pool's iam schema.
func NewThrottle(pool *pgxpool.Pool, cfg ThrottleConfig) (*Throttle, error) {
	for _, p := range []struct {
		policy *ThrottlePolicy
		def    ThrottlePolicy
	}{{&cfg.Pair, DefaultPairPolicy}, {&cfg.Account, DefaultAccountPolicy}, {&cfg.Address, DefaultAddressPolicy}} {
		if *p.policy == (ThrottlePolicy{}) {
			*p.policy = p.def
		}
		if err := p.policy.validate(); err != nil {
			return nil, err
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Throttle{q: db.New(pool), pair: cfg.Pair, account: cfg.Account, address: cfg.Address, now: cfg.Now}, nil
}

const (
	kindPair    = "pair"
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

// pairKey is the account at the address, "" when either is unknown.
func pairKey(account, address string) string {
	if account == "" || address == "" {
		return ""
	}
	return address + " " + account
}

// throttleKey is one key of an attempt with its policy.
type throttleKey struct {
	kind, key string
	policy    ThrottlePolicy
}

// keys are the attempt's keys, those it has: an unknown address has neither
// an address key nor a pair key.
func (t *Throttle) keys(a Attempt) []throttleKey {
	account, address := accountKey(a.Account), addressKey(a.Address)
	var keys []throttleKey
	for _, k := range []throttleKey{
		{kindPair, pairKey(account, address), t.pair},
		{kindAccount, account, t.account},
		{kindAddress, address, t.address},
	} {
		if k.key != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// countTries bounds the runs of CountLoginAttempt. A run fails only when a
// concurrent attempt created one of its keys meanwhile, and the next run
// finds that key: one more run than an attempt has keys is enough. Keys are
// deleted only by Purge, once quiet for longer than every ForgetAfter (a
// success resets them in place), so a key found stays found.
const countTries = 4

// Admit counts the attempt against its keys before its password is checked
// and tells how long it must wait: 0 to go ahead, otherwise the longest
// remaining block of its keys, and then nothing was counted.
func (t *Throttle) Admit(ctx context.Context, a Attempt) (time.Duration, error) {
	now := t.now()
	p := db.CountLoginAttemptParams{TenantID: a.TenantID, Now: now}
	for _, k := range t.keys(a) {
		p.Kinds = append(p.Kinds, k.kind)
		p.Keys = append(p.Keys, k.key)
		p.FreeAttempts = append(p.FreeAttempts, k.policy.free())
		p.BaseMs = append(p.BaseMs, k.policy.Base.Milliseconds())
		p.CapMs = append(p.CapMs, k.policy.Cap.Milliseconds())
		p.ForgetAfterMs = append(p.ForgetAfterMs, k.policy.ForgetAfter.Milliseconds())
	}
	for try := 1; ; try++ {
		until, err := t.q.CountLoginAttempt(ctx, p)
		if err == nil {
			// Admitted, until is now, but in the database's microseconds:
			// up to one short of it.
			return max(until.Sub(now), 0), nil
		}
		if !keyCreatedMeanwhile(err) || try == countTries {
			return 0, pg.Classify(err)
		}
	}
}

func keyCreatedMeanwhile(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "login_failures_key"
}

// Success takes back an admitted attempt whose password was right.
func (t *Throttle) Success(ctx context.Context, a Attempt) error {
	account, address := accountKey(a.Account), addressKey(a.Address)
	err := t.q.ForgiveLoginAttempt(ctx, db.ForgiveLoginAttemptParams{TenantID: a.TenantID, Account: account,
		Pair: pairKey(account, address), Address: address, AddressFreeAttempts: t.address.free()})
	return pg.Classify(err)
}

// Purge deletes keys no longer blocked and quiet for longer than every
// policy's ForgetAfter: they would start from zero anyway.
func (t *Throttle) Purge(ctx context.Context) (int64, error) {
	quiet := max(t.pair.ForgetAfter, t.account.ForgetAfter, t.address.ForgetAfter)
	n, err := t.q.PurgeLoginFailures(ctx, t.now().Add(-quiet))
	return n, pg.Classify(err)
}

// RateLimited is the answer to an attempt Admit holds back: 429 with
// Retry-After, the same words whichever key is blocked.
func RateLimited(wait time.Duration) error {
	return &problem.Error{Kind: problem.KindRateLimited, Detail: "too many failed sign-in attempts; try again later",
		RetryAfter: wait}
}
