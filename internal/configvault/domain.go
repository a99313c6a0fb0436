// Package configvault is the Config Vault service: tenants, their sites, and the
// signing keys that sign each tenant's tokens. This file holds the domain model
// and the value objects that validate themselves.
package configvault

import (
	"encoding/json"
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

// KeyStatus is a signing key's lifecycle state.
type KeyStatus string

const (
	KeyActive   KeyStatus = "active"   // signs and is published
	KeyInactive KeyStatus = "inactive" // verify-only: published until it expires
	KeyRevoked  KeyStatus = "revoked"  // terminal: never published or used again
)

// SigningKey is the public face of a key; the sealed private key stays in the store.
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

// transition validates a lifecycle change. It reports whether the change does
// anything (a repeated request is a no-op, not an error).
func (k SigningKey) transition(to KeyStatus, now time.Time) (bool, error) {
	if k.Status == to {
		return false, nil
	}
	if k.Status == KeyRevoked {
		return false, problem.Conflict("key %s is revoked; a revoked key cannot become %s", k.Kid, to)
	}
	if to == KeyActive && k.Expired(now) {
		return false, problem.Conflict("key %s expired at %s and cannot be activated", k.Kid, k.ExpiresAt.Format(time.RFC3339))
	}
	return true, nil
}

// ParseName trims a display name and refuses empty, overlong or control-character names.
func ParseName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", problem.Field(field, "must be valid UTF-8")
	case n == 0:
		return "", problem.Field(field, "must not be blank")
	case n > 200:
		return "", problem.Field(field, "must be at most 200 characters")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", problem.Field(field, "must not contain control characters")
	}
	return s, nil
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
