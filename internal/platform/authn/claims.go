package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The access token format (RFC 9068 profile) that the IAM service issues and
// Verifier accepts.
//
// Protected header:
//
//	alg  RS256, PS256, ES256 or EdDSA; must equal the alg of the JWK named by kid
//	kid  required; names a key of the tenant's JWKS
//	typ  "at+jwt" (or "application/at+jwt"), compared case-insensitively
//	crit must be absent (no extension is understood)
//
// Every other header, in particular jku, x5u, jwk and x5c, is ignored: keys
// come only from the tenant's JWKS, never from the token or a URL in it.
//
// Claims:
//
//	iss        required; the tenant's issuer, <base>/iam/v1/tenants/<tenant_id>
//	tenant_id  required; the tenant's id, a canonical (lower-case, hyphenated) UUID equal to the one in iss
//	sub        required; for sub_type "user" the user's id (canonical UUID), for "client" the client id
//	sub_type   required; "user" (a person's token) or "client" (a machine client's, client_credentials)
//	client_id  required for sub_type "client" and then equal to sub; optional for users
//	           (the application the user signed in through)
//	aud        required; a string or an array of strings that contains the expected audience
//	exp        required; NumericDate, strictly in the future (no leeway)
//	iat        required; NumericDate, not after now + skew, and before exp
//	nbf        optional; NumericDate, not after now + skew
//	jti        required; non-empty
//	scope      optional; space-separated tenant-wide permissions ("users:read content:write")
//	site_scope optional; object from site id (canonical UUID) to a space-separated list of
//	           the permissions granted on that site only: {"0191…": "content:write content:read"}
//	roles      optional; array of role names, informational (authorization uses the permissions)
//
// Permissions in scope and site_scope are RFC 6749 scope tokens (printable
// ASCII without space, '"' or '\').
const (
	ClaimTenantID  = "tenant_id"
	ClaimSubType   = "sub_type"
	ClaimClientID  = "client_id"
	ClaimScope     = "scope"
	ClaimSiteScope = "site_scope"
	ClaimRoles     = "roles"

	SubTypeUser   = "user"
	SubTypeClient = "client"

	// TokenType is the typ header of an access token (RFC 9068).
	TokenType = "at+jwt"
)

// Claims is what a verified access token says.
type Claims struct {
	Issuer   string
	TenantID uuid.UUID
	Subject  string
	// SubjectType is SubTypeUser or SubTypeClient.
	SubjectType string
	// UserID is the user's id for a user's token, nil for a client's.
	UserID   *uuid.UUID
	ClientID string
	Audience []string
	// Scopes are tenant-wide permissions; SiteScopes those granted on one site.
	Scopes     []string
	SiteScopes map[uuid.UUID][]string
	Roles      []string
	ID         string // jti
	IssuedAt   time.Time
	NotBefore  time.Time // zero when the token has no nbf
	ExpiresAt  time.Time
}

// Principal is the caller the token authenticates.
func (c Claims) Principal() Principal {
	var service string
	if c.SubjectType == SubTypeService {
		service = strings.TrimPrefix(c.Subject, SubTypeService+":")
	}
	return Principal{
		Service:    service,
		TenantID:   c.TenantID,
		UserID:     c.UserID,
		Subject:    c.Subject,
		ClientID:   c.ClientID,
		Scopes:     c.Scopes,
		SiteScopes: c.SiteScopes,
	}
}

// rawClaims is the payload as sent. String claims that are absent or null
// stay empty and are then refused where required; a claim of the wrong JSON
// type fails decoding.
type rawClaims struct {
	Iss       string            `json:"iss"`
	Sub       string            `json:"sub"`
	Aud       audience          `json:"aud"`
	Exp       numericDate       `json:"exp"`
	Nbf       numericDate       `json:"nbf"`
	Iat       numericDate       `json:"iat"`
	Jti       string            `json:"jti"`
	TenantID  string            `json:"tenant_id"`
	SubType   string            `json:"sub_type"`
	ClientID  string            `json:"client_id"`
	Scope     string            `json:"scope"`
	SiteScope map[string]string `json:"site_scope"`
	Roles     []string          `json:"roles"`
}

func decodeClaims(payload []byte) (*rawClaims, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(payload, " \t\r\n"), []byte("{")) {
		return nil, fmt.Errorf("%w: the payload is not a JSON object", errMalformed)
	}
	var c rawClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", errMalformed, err)
	}
	return &c, nil
}

// numericDate is an RFC 7519 NumericDate: a JSON number of seconds since the
// epoch. Strings and null are refused.
type numericDate struct {
	set bool
	t   time.Time
}

// maxNumericDate (year 5138) keeps conversions far from overflow.
const maxNumericDate = 1e11

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errors.New("a NumericDate must be a JSON number")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxNumericDate {
		return errors.New("a NumericDate must be a non-negative number of seconds")
	}
	sec, frac := math.Modf(f)
	d.set, d.t = true, time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// audience is aud: one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*a = list
		return nil
	}
	return errors.New("aud must be a string or an array of strings")
}

// parseCanonicalUUID accepts only the 36-character lower-case hyphenated form,
// so that one id has one spelling (uuid.Parse also takes braces, "urn:uuid:",
// upper case and no hyphens).
func parseCanonicalUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	if err != nil || id.String() != s {
		return uuid.Nil, false
	}
	return id, true
}

// parseScope splits a space-separated list of RFC 6749 scope tokens. Runs of
// spaces are tolerated; any other byte outside NQCHAR is refused.
func parseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, fmt.Errorf("scope token %s has a character outside RFC 6749 NQCHAR", short(tok))
			}
		}
		out = append(out, tok)
	}
	return out, nil
}

// short quotes an attacker-controlled value for a log line, bounded.
func short(s string) string {
	const limit = 80
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
