// Package uam is the UAM service: the users of each tenant, their profiles,
// roles, permissions and role assignments, and the credential check the IAM
// service signs users in with. This file holds the domain model and the value
// objects that validate themselves.
package uam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// User is an account of one tenant. Its password hash stays in the store.
type User struct {
	ID            uuid.UUID
	TenantID      uuid.UUID
	Email         string
	EmailVerified bool
	Status        UserStatus
	HasPassword   bool
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastLoginAt   *time.Time
	// SecurityStamp changes whenever the user's sessions must end: when the
	// password is set and when the status moves to disabled or locked. nil
	// when none was recorded yet. Only the IAM service sees it.
	SecurityStamp *time.Time
}

// UserStatus says whether a user may sign in.
type UserStatus string

const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled" // by an administrator
	UserLocked   UserStatus = "locked"   // for example after abuse
)

func parseUserStatus(field, s string) (UserStatus, error) {
	switch st := UserStatus(s); st {
	case UserActive, UserDisabled, UserLocked:
		return st, nil
	}
	return "", problem.Field(field, "must be active, disabled or locked")
}

// Profile is the one profile of a user. Empty strings are unset fields.
type Profile struct {
	UserID      uuid.UUID
	TenantID    uuid.UUID
	DisplayName string
	GivenName   string
	FamilyName  string
	AvatarURL   string
	Locale      string
	Timezone    string
	Phone       string
	Metadata    json.RawMessage
	Version     int64
	UpdatedAt   time.Time
}

// ProfilePatch holds validated profile changes; nil fields stay unchanged.
type ProfilePatch struct {
	DisplayName, GivenName, FamilyName, AvatarURL, Locale, Timezone, Phone *string
	Metadata                                                               json.RawMessage
}

// Permission is a resource:action name of the catalogue.
type Permission struct {
	Name        string
	Description string
	BuiltIn     bool
	Level       string // "tenant" or "platform"
	TenantID    *uuid.UUID
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Role is a named set of permissions. Built-in roles have no tenant.
type Role struct {
	ID          uuid.UUID
	TenantID    *uuid.UUID
	Name        string
	Description string
	Permissions []string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// BuiltIn reports whether the role is one of the platform's read-only roles.
func (r Role) BuiltIn() bool { return r.TenantID == nil }

// Assignment is a role held by a user, tenant-wide (SiteID nil) or on one site.
type Assignment struct {
	ID        uuid.UUID
	TenantID  uuid.UUID
	UserID    uuid.UUID
	RoleID    uuid.UUID
	RoleName  string
	SiteID    *uuid.UUID
	CreatedAt time.Time
}

// Effective is what a user's roles add up to: TenantWide holds everywhere in
// the tenant; Sites lists what site-scoped roles add on each site.
type Effective struct {
	TenantWide []string
	Sites      []SitePermissions
}

// SitePermissions are the permissions site-scoped roles grant on one site.
type SitePermissions struct {
	SiteID      uuid.UUID
	Permissions []string
}

// Login is the answer to a successful credential check.
type Login struct {
	User        User
	Roles       []string
	Permissions Effective
}

// fields collects the field errors of one request, so a client learns every
// bad field at once. An error that names no field is kept and wins: it is
// not the client's to fix field by field.
type fields struct {
	list  []problem.FieldError
	other error
}

func (f *fields) add(err error) {
	var pe *problem.Error
	switch {
	case err == nil:
	case errors.As(err, &pe) && pe.Kind == problem.KindInvalid && len(pe.Fields) > 0:
		f.list = append(f.list, pe.Fields...)
	case f.other == nil:
		f.other = err
	}
}

func (f *fields) field(name, message string) {
	f.list = append(f.list, problem.FieldError{Field: name, Message: message})
}

func (f *fields) err() error {
	switch {
	case f.other != nil:
		return f.other
	case len(f.list) > 0:
		return problem.Invalid("the request has invalid fields", f.list...)
	}
	return nil
}

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// ParseEmail trims an address and checks that it is a bare addr-spec with a
// domain that looks like a hostname.
func ParseEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", problem.Field(field, "must not be empty")
	}
	if len(s) > maxEmailLen {
		return "", problem.Field(field, fmt.Sprintf("must be at most %d bytes", maxEmailLen))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", problem.Field(field, "is not an email address such as ada@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !emailDomain.MatchString(domain) || strings.IndexFunc(local, invisible) >= 0 {
		return "", problem.Field(field, "is not an email address such as ada@example.com")
	}
	return s, nil
}

// invisible reports runes net/mail allows in a local part (RFC 6532 admits
// any non-ASCII character) that a reader cannot see or tell apart: C1
// controls, spaces such as U+00A0 and U+3000, line separators, and invisible
// formatting such as bidirectional overrides.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// emailDomain: dot-separated hostname labels with at least one dot; literal
// IP domains ("[1.2.3.4]") are not accepted for accounts.
var emailDomain = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// permissionName is resource:action; the spec and the database say the same.
var permissionName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}:[a-z][a-z0-9_-]{0,63}$`)

// ValidPermissionName reports whether s is a well-formed resource:action name.
func ValidPermissionName(s string) bool { return permissionName.MatchString(s) }

func parsePermissionName(field, s string) (string, error) {
	if !ValidPermissionName(s) {
		return "", problem.Field(field, "must be resource:action in lower case, such as invoices:read")
	}
	return s, nil
}

var roleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func parseRoleName(field, s string) (string, error) {
	if !roleName.MatchString(s) {
		return "", problem.Field(field, "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return s, nil
}

// parseText trims free text and refuses control and invisible formatting
// characters (bidirectional overrides can disguise what a name says);
// multiline allows line breaks and tabs, as descriptions need.
func parseText(field, s string, maxChars int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", problem.Field(field, "must be valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > maxChars {
		return "", problem.Field(field, fmt.Sprintf("must be at most %d characters", maxChars))
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		// Zl and Zp are line and paragraph separators: a line break in disguise.
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", problem.Field(field, "must not contain control or invisible formatting characters")
		}
	}
	return s, nil
}

func parseDescription(field string, s *string) (*string, error) {
	if s == nil {
		return nil, nil
	}
	d, err := parseText(field, *s, 1000, true)
	return &d, err
}

func parseAvatarURL(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(s) > 2048 ||
		strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return "", problem.Field(field, "must be an absolute http or https URL (RFC 3986: no spaces or raw non-ASCII characters) without credentials, of at most 2048 characters")
	}
	return s, nil
}

// parseLocale accepts a well-formed BCP 47 tag and stores its canonical
// spelling ("en-gb" becomes "en-GB").
func parseLocale(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	tag, err := language.Parse(s)
	c := tag.String()
	// x/text accepts some ill-formed tags (a repeated singleton such as
	// "aa-u-00-00-u-00-00") and canonicalises them to a spelling that
	// parses to yet another one: only a stable canonical form is stored.
	again, err2 := language.Parse(c)
	if err != nil || err2 != nil || again.String() != c || len(s) > 35 || len(c) > 35 {
		return "", problem.Field(field, "must be a BCP 47 language tag such as en-GB")
	}
	return c, nil
}

// zoneName is the shape of IANA zone names ("America/Argentina/Buenos_Aires",
// "Etc/GMT+5", "UTC").
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)

// notZones are files of zoneinfo directories that are not zones a user lives
// in: the server's own zone, build artefacts and the duplicate trees.
var notZones = regexp.MustCompile(`^(Local|localtime|posixrules|Factory|leapseconds|tzdata\.zi|(posix|right|SystemV)(/.*)?)$`)

// parseTimezone accepts names of the IANA database. The binary embeds the
// database (time/tzdata in cmd/saas), which LoadLocation uses when the host
// has none; a host database may know a few more (newer) names.
func parseTimezone(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 64 || !zoneName.MatchString(s) || notZones.MatchString(s) {
		return "", problem.Field(field, "must be an IANA time zone name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", problem.Field(field, "must be an IANA time zone name such as Europe/Paris")
	}
	return s, nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

func parsePhone(field, s string) (string, error) {
	if s != "" && !e164.MatchString(s) {
		return "", problem.Field(field, "must be an E.164 number such as +14155550100")
	}
	return s, nil
}

// maxMetadata bounds a profile's metadata, measured as compact JSON.
const maxMetadata = 16 << 10

// maxNumberLen bounds each number in metadata. PostgreSQL's jsonb keeps
// numbers exactly and prints them in full, so 1e30000 would be stored (and
// returned) as 30,001 digits: the size limit must hold for that form too.
const maxNumberLen = 40

func parseMetadata(field string, raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, problem.Field(field, "must be a JSON object")
	}
	if buf.Len() > maxMetadata {
		return nil, problem.Field(field, fmt.Sprintf("must be at most %d bytes as compact JSON", maxMetadata))
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: Compact has already checked the syntax
		}
		switch v := tok.(type) {
		case json.Number:
			if len(v) > maxNumberLen || strings.ContainsAny(string(v), "eE") {
				return nil, problem.Field(field, fmt.Sprintf("numbers must be written in plain decimal notation (no exponent) with at most %d characters", maxNumberLen))
			}
		case string: // keys and values; PostgreSQL's jsonb cannot hold U+0000
			if strings.ContainsRune(v, 0) {
				return nil, problem.Field(field, `must not contain the character U+0000 ("\u0000")`)
			}
		}
	}
	return buf.Bytes(), nil
}

// ProfileInput is a profile change as it arrives; ParseProfile validates it.
type ProfileInput struct {
	DisplayName, GivenName, FamilyName, AvatarURL, Locale, Timezone, Phone *string
	Metadata                                                               *json.RawMessage
}

// ParseProfile validates every field present, reporting each bad one under
// prefix (such as "body" or "body.profile").
func ParseProfile(prefix string, in ProfileInput) (ProfilePatch, error) {
	var errs fields
	var p ProfilePatch
	opt := func(dst **string, v *string, name string, parse func(string, string) (string, error)) {
		if v == nil {
			return
		}
		s, err := parse(prefix+"."+name, *v)
		errs.add(err)
		*dst = &s
	}
	text := func(max int) func(string, string) (string, error) {
		return func(f, s string) (string, error) { return parseText(f, s, max, false) }
	}
	opt(&p.DisplayName, in.DisplayName, "display_name", text(200))
	opt(&p.GivenName, in.GivenName, "given_name", text(100))
	opt(&p.FamilyName, in.FamilyName, "family_name", text(100))
	opt(&p.AvatarURL, in.AvatarURL, "avatar_url", parseAvatarURL)
	opt(&p.Locale, in.Locale, "locale", parseLocale)
	opt(&p.Timezone, in.Timezone, "timezone", parseTimezone)
	opt(&p.Phone, in.Phone, "phone", parsePhone)
	if in.Metadata != nil {
		raw, err := parseMetadata(prefix+".metadata", *in.Metadata)
		errs.add(err)
		p.Metadata = raw
	}
	return p, errs.err()
}
