// Package configvault is the Config Vault service: tenants, their sites, and the
// signing keys that sign each tenant's tokens. This file holds the domain model
// and the value objects that validate themselves.
package configvault

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Tenant owns sites, keys and, in other services, users and content.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	Domain    string
	IsActive  bool
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Site belongs to one tenant; its domain is unique across all tenants.
type Site struct {
	ID        uuid.UUID
	TenantID  uuid.UUID
	Name      string
	Domain    string
	IsActive  bool
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KeyStatus is a signing key's status. Active, inactive and revoked are the
// lifecycle states that are stored and changed; expired is derived from the
// expiry time (see [SigningKey.StatusAt]) and never stored.
type KeyStatus string

const (
	KeyActive   KeyStatus = "active"   // signs and is published
	KeyInactive KeyStatus = "inactive" // verify-only: published until it expires
	KeyRevoked  KeyStatus = "revoked"  // terminal: never published or used again
	KeyExpired  KeyStatus = "expired"  // derived: past expires_at and not revoked
)

// ParseKeyStatus validates a status filter; every status, expired included, may be asked for.
func ParseKeyStatus(field, s string) (KeyStatus, error) {
	switch st := KeyStatus(s); st {
	case KeyActive, KeyInactive, KeyRevoked, KeyExpired:
		return st, nil
	}
	return "", problem.Field(field, "must be one of active, inactive, revoked, expired")
}

// SigningKey is the public face of a key; the sealed private key stays in the store.
// Status is the stored lifecycle state; what clients see is [SigningKey.StatusAt].
type SigningKey struct {
	ID        uuid.UUID
	TenantID  uuid.UUID
	SiteID    *uuid.UUID
	Kid       string
	Algorithm keycrypto.Algorithm
	KeySize   *int
	PublicPEM string
	PublicJWK json.RawMessage
	Status    KeyStatus
	ExpiresAt time.Time
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Expired keys are neither active nor published, whatever their status says.
func (k SigningKey) Expired(now time.Time) bool { return !now.Before(k.ExpiresAt) }

// StatusAt is the effective status at now: the stored state, except that a
// key past its expiry reads as expired unless it is revoked. The list
// queries' status filter computes the same in SQL.
func (k SigningKey) StatusAt(now time.Time) KeyStatus {
	if k.Status != KeyRevoked && k.Expired(now) {
		return KeyExpired
	}
	return k.Status
}

// transition validates a change of the stored state to one of active,
// inactive or revoked. It reports whether the change does anything: a
// repeated request is a no-op, not an error. An expired key may still be
// deactivated or revoked, but never activated, whatever its stored state.
func (k SigningKey) transition(to KeyStatus, now time.Time) (bool, error) {
	switch {
	case to != KeyActive && to != KeyInactive && to != KeyRevoked:
		return false, fmt.Errorf("configvault: %q is not a state a key can be moved to", to)
	case k.Status == KeyRevoked && to != KeyRevoked:
		return false, problem.Conflict("key %s is revoked; a revoked key cannot become %s", k.Kid, to)
	case to == KeyActive && k.Expired(now):
		return false, problem.Conflict("key %s expired at %s and cannot be activated", k.Kid, k.ExpiresAt.Format(time.RFC3339))
	}
	return k.Status != to, nil
}

// MaxNameLength bounds a display name once surrounding white space is
// trimmed; the spec allows a little more before trimming, and the column's
// CHECK holds the same limit.
const MaxNameLength = 200

// ParseName trims a display name and refuses empty and overlong names and
// names with control or invisible formatting characters. UTF-8 validity is
// the HTTP layer's check (JSON decoding replaces invalid bytes anyway).
func ParseName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", problem.Field(field, "must not be blank")
	case n > MaxNameLength:
		return "", problem.Field(field, "must be at most 200 characters, not counting surrounding white space")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", problem.Field(field, "must not contain control characters")
	}
	if strings.IndexFunc(s, invisible) >= 0 {
		return "", problem.Field(field, "must not contain invisible formatting characters such as line separators or bidirectional controls")
	}
	return s, nil
}

// invisible reports characters that render as nothing or reorder the text
// around them, so a name could look like another one: line and paragraph
// separators (Zl, Zp) and format characters (Cf: bidirectional controls such
// as U+202E, zero-width spaces, soft hyphens, tag characters, U+FEFF). The
// zero-width joiner and non-joiner are kept: emoji sequences and several
// scripts need them.
func invisible(r rune) bool {
	switch r {
	case '‌', '‍': // ZWNJ, ZWJ
		return false
	}
	return unicode.In(r, unicode.Zl, unicode.Zp, unicode.Cf)
}

// ParseDomain validates a DNS hostname (RFC 1123 labels) and returns it in the
// lower-case form that uniqueness is checked on. One trailing dot is accepted.
func ParseDomain(field, s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if d == "" || len(d) > 253 {
		return "", problem.Field(field, "must be a hostname of 1 to 253 characters")
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return "", problem.Field(field, "each dot-separated label must have 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", problem.Field(field, "a label must not start or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", problem.Field(field, "may contain only letters, digits, hyphens and dots")
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", problem.Field(field, "must be a hostname, not an IP address")
	}
	return d, nil
}
