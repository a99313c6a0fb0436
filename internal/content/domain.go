// Package content is the Content service: a headless CMS scoped by tenant and
// site. Items have a draft (what editors change, with a numbered revision for
// every change) and at most one live version (what delivery serves);
// publishing copies a revision to the live version in one statement, now or
// when a schedule comes due; deleted items wait in a trash until purged. This
// file holds the domain model and the value objects that validate themselves.
package content

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Status is derived from an item's publications.
type Status string

const (
	StatusDraft     Status = "draft"     // never published
	StatusPublished Status = "published" // a live version exists
	StatusArchived  Status = "archived"  // published once, withdrawn since
)

// Draft is the editable content of an item, and what each revision holds.
type Draft struct {
	Slug    string
	Title   string
	Summary string
	Body    string
	Data    json.RawMessage
	Tags    []string
}

// Item is a content item of one site: its draft, and the state of its live
// version and schedule. Lists leave Body empty.
type Item struct {
	TenantID uuid.UUID
	SiteID   uuid.UUID
	ID       uuid.UUID
	Type     string
	Locale   string
	AuthorID uuid.UUID
	Draft
	Revision          int
	LiveRevision      *int
	PublishedAt       *time.Time
	PublishAt         *time.Time
	ScheduledRevision *int
	ScheduleError     *string
	Status            Status
	DeletedAt         *time.Time
	// PurgeAt is when an item in the trash goes for good.
	PurgeAt   *time.Time
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Rank and Snippet are set by searches.
	Rank    *float32
	Snippet *string
}

// HasUnpublishedChanges reports whether the draft's revision is not the live one.
func (i Item) HasUnpublishedChanges() bool {
	return i.LiveRevision == nil || *i.LiveRevision != i.Revision
}

// Published is the live version of an item, as delivery serves it.
type Published struct {
	ID       uuid.UUID
	SiteID   uuid.UUID
	Type     string
	Locale   string
	AuthorID uuid.UUID
	Draft
	Revision    int
	PublishedAt time.Time
	// LiveVersion counts the item's publications; with the id it makes the ETag.
	LiveVersion int64
	Rank        *float32
	Snippet     *string
}

// ETag is the strong entity tag of this live version: it changes with every
// publication, and no two items share one.
func (p Published) ETag() string {
	return fmt.Sprintf(`"p%s-%d"`, p.ID, p.LiveVersion)
}

// Revision is one stored state of an item's draft.
type Revision struct {
	ItemID       uuid.UUID
	Number       int
	Action       string // create, update or restore
	RestoredFrom *int
	Changed      []string
	AuthorID     uuid.UUID
	CreatedAt    time.Time
	Draft
}

// Settings are a site's content settings.
type Settings struct {
	SiteID        uuid.UUID
	DefaultLocale string
	Version       int64
	// UpdatedAt is nil while the site has the defaults.
	UpdatedAt *time.Time
}

// DefaultLocale is a site's default locale until it sets its own.
const DefaultLocale = "en"

// NewItem is an item to create, validated by ParseNewItem.
type NewItem struct {
	Type   string
	Locale *string // nil: the site's default
	Draft
}

// DraftPatch holds validated draft changes; nil fields stay unchanged.
type DraftPatch struct {
	Slug, Title, Summary, Body *string
	Data                       json.RawMessage
	Tags                       *[]string
}

// Filter narrows a list; zero fields do not filter. Query searches.
type Filter struct {
	Type         *string
	Status       *Status
	Locale       *string
	Tag          *string
	AuthorID     *uuid.UUID
	UpdatedSince *time.Time
	Query        *string
}

// Limits, which the spec and the schema repeat.
const (
	maxTypeLen    = 64
	maxSlugLen    = 200
	maxTitleLen   = 500
	maxSummaryLen = 2000
	maxTagLen     = 64
	maxTags       = 50
	// MaxBodyBytes bounds an item's body, as UTF-8.
	MaxBodyBytes = 1 << 20
	// MaxDataBytes bounds an item's data, as compact JSON.
	MaxDataBytes = 256 << 10
	maxNumberLen = 40
	maxQueryLen  = 256
)

// fields collects the field errors of one request, so a client learns every
// bad field at once.
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

func (f *fields) err() error {
	switch {
	case f.other != nil:
		return f.other
	case len(f.list) > 0:
		return problem.Invalid("the request has invalid fields", f.list...)
	}
	return nil
}

var (
	typePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// ParseType accepts a type identifier such as page or post.
func ParseType(field, s string) (string, error) {
	if len(s) > maxTypeLen || !typePattern.MatchString(s) {
		return "", problem.Field(field, "must be a lower-case letter, then up to 63 lower-case letters, digits, '_' or '-', such as post")
	}
	return s, nil
}

// ParseSlug accepts a URL segment such as hello-world.
func ParseSlug(field, s string) (string, error) {
	if len(s) > maxSlugLen || !slugPattern.MatchString(s) {
		return "", problem.Field(field, "must be lower-case letters and digits in words joined by single hyphens (at most 200 characters), such as hello-world")
	}
	return s, nil
}

// ParseTag accepts a tag, spelt like a slug.
func ParseTag(field, s string) (string, error) {
	if len(s) > maxTagLen || !slugPattern.MatchString(s) {
		return "", problem.Field(field, "must be lower-case letters and digits in words joined by single hyphens (at most 64 characters), such as release-notes")
	}
	return s, nil
}

// ParseLocale accepts a well-formed BCP 47 tag and returns its canonical
// spelling ("en-gb" becomes "en-GB"), so that filters compare like with like.
func ParseLocale(field, s string) (string, error) {
	tag, err := language.Parse(s)
	c := tag.String()
	// x/text accepts some ill-formed tags whose canonical spelling parses to
	// yet another one: only a stable canonical form is stored.
	again, err2 := language.Parse(c)
	if err != nil || err2 != nil || again.String() != c || len(s) > 35 || len(c) > 35 || c == "und" {
		return "", problem.Field(field, "must be a BCP 47 language tag such as en or pt-BR")
	}
	return c, nil
}

// bidi reports the bidirectional embedding, override and isolate controls,
// which make text read otherwise than it is stored.
func bidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// parseLine trims a one-line text and refuses control characters, line and
// paragraph separators and bidirectional controls.
func parseLine(field, s string, minChars, maxChars int) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < minChars || n > maxChars {
		if minChars > 0 && n < minChars {
			return "", problem.Field(field, "must not be blank")
		}
		return "", problem.Field(field, fmt.Sprintf("must be at most %d characters", maxChars))
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || bidi(r) {
			return "", problem.Field(field, "must not contain control characters, line breaks or bidirectional controls")
		}
	}
	return s, nil
}

// parseText checks multi-line text: line breaks and tabs are allowed, other
// control characters not (the search snippets mark matches with two of them).
func parseText(field, s string, trim bool) (string, error) {
	if trim {
		s = strings.TrimSpace(s)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			continue
		}
		if unicode.IsControl(r) || bidi(r) {
			return "", problem.Field(field, "must not contain control characters other than line breaks and tabs, nor bidirectional controls")
		}
	}
	return s, nil
}

func parseSummary(field, s string) (string, error) {
	s, err := parseText(field, s, true)
	if err == nil && utf8.RuneCountInString(s) > maxSummaryLen {
		err = problem.Field(field, fmt.Sprintf("must be at most %d characters", maxSummaryLen))
	}
	return s, err
}

func parseBody(field, s string) (string, error) {
	if len(s) > MaxBodyBytes {
		return "", problem.Field(field, fmt.Sprintf("must be at most %d bytes as UTF-8 (1 MiB)", MaxBodyBytes))
	}
	return parseText(field, s, false)
}

// parseData checks custom fields: a JSON object of bounded size whose numbers
// PostgreSQL keeps (and prints) exactly as written, without U+0000, which
// jsonb cannot hold. It returns the compact form.
func parseData(field string, raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, problem.Field(field, "must be a JSON object")
	}
	if buf.Len() > MaxDataBytes {
		return nil, problem.Field(field, fmt.Sprintf("must be at most %d bytes as compact JSON (256 KiB)", MaxDataBytes))
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: Compact has checked the syntax already
		}
		switch v := tok.(type) {
		case json.Number:
			if len(v) > maxNumberLen || strings.ContainsAny(string(v), "eE") {
				return nil, problem.Field(field, fmt.Sprintf("numbers must be written in plain decimal notation (no exponent) with at most %d characters", maxNumberLen))
			}
		case string:
			if strings.ContainsRune(v, 0) {
				return nil, problem.Field(field, `must not contain the character U+0000 ("\u0000")`)
			}
		}
	}
	return buf.Bytes(), nil
}

func parseTags(field string, tags []string) ([]string, error) {
	if len(tags) > maxTags {
		return nil, problem.Field(field, fmt.Sprintf("must hold at most %d tags", maxTags))
	}
	var errs fields
	seen := map[string]bool{}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		name := fmt.Sprintf("%s.%d", field, i)
		if _, err := ParseTag(name, t); err != nil {
			errs.add(err)
			continue
		}
		if seen[t] {
			errs.add(problem.Field(name, "is given more than once"))
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out, errs.err()
}

// DraftInput is an item's content as it arrives; nil fields are absent.
type DraftInput struct {
	Slug, Title, Summary, Body *string
	Data                       *json.RawMessage
	Tags                       *[]string
}

// ParseDraftPatch validates every field present, reporting each bad one
// under prefix (such as "body").
func ParseDraftPatch(prefix string, in DraftInput) (DraftPatch, error) {
	var errs fields
	var p DraftPatch
	str := func(dst **string, v *string, name string, parse func(string, string) (string, error)) {
		if v == nil {
			return
		}
		s, err := parse(prefix+"."+name, *v)
		errs.add(err)
		*dst = &s
	}
	str(&p.Slug, in.Slug, "slug", ParseSlug)
	str(&p.Title, in.Title, "title", func(f, s string) (string, error) { return parseLine(f, s, 1, maxTitleLen) })
	str(&p.Summary, in.Summary, "summary", parseSummary)
	str(&p.Body, in.Body, "body", parseBody)
	if in.Data != nil {
		d, err := parseData(prefix+".data", *in.Data)
		errs.add(err)
		p.Data = d
	}
	if in.Tags != nil {
		t, err := parseTags(prefix+".tags", *in.Tags)
		errs.add(err)
		p.Tags = &t
	}
	return p, errs.err()
}

// ItemInput is an item to create as it arrives.
type ItemInput struct {
	Type   string
	Locale *string
	DraftInput
}

// ParseNewItem validates every field, reporting all bad ones at once.
func ParseNewItem(in ItemInput) (NewItem, error) {
	var errs fields
	var n NewItem
	var err error
	n.Type, err = ParseType("body.type", in.Type)
	errs.add(err)
	if in.Locale != nil {
		l, err := ParseLocale("body.locale", *in.Locale)
		errs.add(err)
		n.Locale = &l
	}
	if in.Slug == nil {
		errs.add(problem.Field("body.slug", "is required"))
	}
	if in.Title == nil {
		errs.add(problem.Field("body.title", "is required"))
	}
	p, err := ParseDraftPatch("body", in.DraftInput)
	errs.add(err)
	if err := errs.err(); err != nil {
		return NewItem{}, err
	}
	n.Slug, n.Title = *p.Slug, *p.Title
	if p.Summary != nil {
		n.Summary = *p.Summary
	}
	if p.Body != nil {
		n.Body = *p.Body
	}
	n.Data = p.Data
	if n.Data == nil {
		n.Data = json.RawMessage(`{}`)
	}
	n.Tags = []string{}
	if p.Tags != nil {
		n.Tags = *p.Tags
	}
	return n, nil
}

// ParseQuery checks a search: the web search syntax accepts anything, so
// only its size and characters are bounded.
func ParseQuery(field, s string) (string, error) {
	s, err := parseLine(field, s, 1, maxQueryLen)
	return s, err
}
