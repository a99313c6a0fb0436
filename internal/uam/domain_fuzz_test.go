package uam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// The value objects' fuzz targets check what an accepted value is, not only
// that nothing panics: each is canonical (parsing it again changes nothing)
// and satisfies the rule the type documents. Where the rule is simple enough
// to restate by hand, the restatement decides acceptance both ways.

// short quotes a fuzz input for a message, cut to a readable length.
func short(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case *string:
		if v == nil {
			return "<nil>"
		}
		s = *v
	default:
		return "?"
	}
	if len(s) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", s[:200], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// refusedAs fails unless err is a client error naming exactly field.
func refusedAs(t *testing.T, in any, err error, field string) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid || len(pe.Fields) != 1 || pe.Fields[0].Field != field {
		t.Fatalf("%s: refused with %#v, want one invalid field %q", short(in), err, field)
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{
		"ada@example.com", "  Ada.Lovelace+tag@Example.CO.uk\n", "ada@localhost", "ada@[1.2.3.4]",
		`"ada"@example.com`, `"a@b"@example.com`, "Ada <ada@example.com>", "ada@example.com (home)",
		"a@b@example.com", "ada@-example.com", "ada@example..com", "ada@example.com.", "élodie@example.fr",
		"\u00a0ada@example.com\u3000", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 65) + "@example.com",
		"a@" + strings.Repeat("b", 63) + ".com", "a@" + strings.Repeat("b", 64) + ".com",
		"a@" + strings.Repeat("abcdefghi.", 25) + "com", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEmail("body.email", s)
		if err != nil {
			refusedAs(t, s, err, "body.email")
			return
		}
		// Trimming is the only change; the rest is checked as given.
		if e != strings.TrimSpace(s) || e == "" || len(e) > maxEmailLen {
			t.Fatalf("%q accepted as %q: not the trimmed input, or empty, or over %d bytes", s, e, maxEmailLen)
		}
		// A bare addr-spec: no display name, no comment, no quoted local part,
		// so exactly one '@' and no quotes at all.
		if a, err := mail.ParseAddress(e); err != nil || a.Name != "" || a.Address != e {
			t.Fatalf("%q accepted, but net/mail reads it as %#v, %v", e, a, err)
		}
		if strings.Count(e, "@") != 1 || strings.ContainsRune(e, '"') {
			t.Fatalf("%q accepted with a quoted local part or more than one '@'", e)
		}
		at := strings.IndexByte(e, '@')
		if local := e[:at]; local == "" || len(local) > 64 {
			t.Fatalf("%q accepted with a local part of %d bytes", e, len(local))
		}
		if domain := e[at+1:]; !hostname(domain) {
			t.Fatalf("%q accepted with %q, which is not a dotted host name", e, domain)
		}
		// What a person reads is what is stored: no control characters, no
		// invisible formatting (such as bidirectional overrides), no spaces.
		for _, r := range e {
			if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q accepted with %U", e, r)
			}
		}
		if again, err := ParseEmail("body.email", e); err != nil || again != e {
			t.Fatalf("%q accepted, but not when given again: %q, %v", e, again, err)
		}
	})
}

// hostname restates emailDomain: at least two dot-separated labels of 1 to
// 63 ASCII letters, digits and hyphens, with no hyphen at either end.
func hostname(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 } `, `{"a":1}`, `{"a":1e5}`, `{"a":1E5}`, `{"a":-0.5}`, `[1]`, `"x"`, `null`, ``, `{`, `{} {}`,
		`{"a":{"b":[1,2,{"c":null}]}}`, `{"a":"1e5","b":["E"]}`, `{"a":"\u0041\n","b":"<&>"}`, `{"a":1,"a":2}`,
		`{"n":` + strings.Repeat("9", maxNumberLen) + `}`, `{"n":` + strings.Repeat("9", maxNumberLen+1) + `}`,
		`{"n":-0.` + strings.Repeat("1", maxNumberLen-3) + `}`, strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100),
	} {
		// No 16 KiB seeds: the fuzzer minimises every new input it finds, and
		// minimising inputs that large outlasts a 10 s run (the run then
		// fails with "context deadline exceeded"). TestParseMetadataSizeLimit
		// covers the limit.
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		out, err := parseMetadata("body.metadata", raw)
		if !bytes.Equal(raw, in) {
			t.Fatalf("parseMetadata changed its input %s to %s", short(in), short(raw))
		}
		// What the rule says, restated: a JSON object of at most maxMetadata
		// bytes when compact, every number plain and short.
		var compact bytes.Buffer
		want := json.Compact(&compact, raw) == nil && compact.Len() > 0 && compact.Bytes()[0] == '{' &&
			compact.Len() <= maxMetadata && plainNumbers(t, compact.Bytes())
		if err != nil {
			refusedAs(t, raw, err, "body.metadata")
			if want {
				t.Fatalf("%s refused, but it is an object of %d bytes with plain numbers: %v", short(raw), compact.Len(), err)
			}
			return
		}
		if !want {
			t.Fatalf("%s accepted as %s, which breaks the rule", short(raw), short(out))
		}
		// Accepted means: exactly the compact form of the input.
		if !bytes.Equal(out, compact.Bytes()) || !json.Valid(out) {
			t.Fatalf("%s accepted as %s, want its compact form %s", short(raw), short(out), short(compact.Bytes()))
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(out, &obj) != nil || obj == nil {
			t.Fatalf("%s accepted as %s, which is not an object", short(raw), short(out))
		}
		again, err := parseMetadata("body.metadata", out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%s accepted as %s, but that gives %s, %v", short(raw), short(out), short(again), err)
		}
	})
}

// plainNumbers reports whether every number in a valid JSON document has at
// most maxNumberLen characters and no exponent, and no key or string holds
// U+0000 (which PostgreSQL's jsonb cannot store). It reads tokens, not a
// decoded value: decoding into a map would drop all but the last of
// repeated keys, and with them what they hold.
func plainNumbers(t *testing.T, doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			t.Fatalf("%s: compact JSON that does not tokenize: %v", short(doc), err)
		}
		switch v := tok.(type) {
		case json.Number:
			if len(v) > maxNumberLen || strings.ContainsAny(string(v), "eE") {
				return false
			}
		case string:
			if strings.ContainsRune(v, 0) {
				return false
			}
		}
	}
}

func FuzzParseProfileText(f *testing.F) {
	for _, tc := range []struct {
		s         string
		max       uint16
		multiline bool
	}{
		{"Ada Lovelace", 200, false}, {"  Ada  ", 100, false}, {"", 100, false}, {"a\u202eb", 200, false},
		{"a\u200db", 200, false}, {"line\nbreak", 200, false}, {"line\nbreak\ttab", 1000, true}, {"a\r\nb", 1000, true},
		{"\u0085x\u0085", 100, false}, {"x\x00y", 100, false}, {"\xff", 100, false}, {"日本語", 2, false},
		{strings.Repeat("é", 100), 100, false}, {strings.Repeat("é", 101), 100, false}, {" \t\n x \n\t ", 1, true},
	} {
		f.Add(tc.s, tc.max, tc.multiline)
	}
	f.Fuzz(func(t *testing.T, s string, max uint16, multiline bool) {
		maxChars := int(max % 1001)
		out, err := parseText("body.display_name", s, maxChars, multiline)
		trimmed := strings.TrimSpace(s)
		want := utf8.ValidString(s) && utf8.RuneCountInString(trimmed) <= maxChars
		for _, r := range trimmed {
			if (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) && !(multiline && (r == '\n' || r == '\t')) {
				want = false
			}
		}
		if err != nil {
			refusedAs(t, s, err, "body.display_name")
			if want {
				t.Fatalf("%s (max %d, multiline %v) refused: %v", short(s), maxChars, multiline, err)
			}
			return
		}
		if !want || out != trimmed || !utf8.ValidString(out) || utf8.RuneCountInString(out) > maxChars {
			t.Fatalf("%s (max %d, multiline %v) accepted as %s", short(s), maxChars, multiline, short(out))
		}
		for _, r := range out {
			if (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) && !(multiline && (r == '\n' || r == '\t')) {
				t.Fatalf("%s accepted with %U", short(out), r)
			}
		}
		if again, err := parseText("body.display_name", out, maxChars, multiline); err != nil || again != out {
			t.Fatalf("%s accepted, but not when given again: %s, %v", short(out), short(again), err)
		}
	})
}

func FuzzParseTimezone(f *testing.F) {
	for _, s := range []string{
		"Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC", "", "Local", "localtime", "posixrules",
		"Factory", "right/UTC", "posix/Europe/Paris", "../etc/passwd", "/etc/localtime", "Europe/../Europe/Paris",
		"Europe//Paris", "Europe", "europe/paris", "Europe/Paris ", "zone.tab", "tzdata.zi", "+VERSION", "Etc/UTC",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tz, err := parseTimezone("body.timezone", s)
		if err != nil {
			refusedAs(t, s, err, "body.timezone")
			return
		}
		if tz != s {
			t.Fatalf("%q accepted as %q", s, tz)
		}
		if tz == "" {
			return
		}
		// A zone name, not a path: nothing that climbs, starts at the root
		// or names the server's own zone or a duplicate tree.
		if len(tz) > 64 || strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") || strings.Contains(tz, "//") ||
			tz == "Local" || tz == "localtime" || strings.HasPrefix(tz, "posix/") || strings.HasPrefix(tz, "right/") {
			t.Fatalf("%q accepted", tz)
		}
		if loc, err := time.LoadLocation(tz); err != nil || loc.String() != tz {
			t.Fatalf("%q accepted, but LoadLocation says %v, %v", tz, loc, err)
		}
		if again, err := parseTimezone("body.timezone", tz); err != nil || again != tz {
			t.Fatalf("%q accepted, but not when given again: %q, %v", tz, again, err)
		}
	})
}

func FuzzParseLocale(f *testing.F) {
	for _, s := range []string{
		"en-GB", "en-gb", "EN", "zh-Hant-TW", "sr-Latn-RS", "de-DE-1996", "en-US-u-ca-gregory", "x-private",
		"i-klingon", "iw", "und", "", "en_GB", "en-", "-en", strings.Repeat("a", 36), "en-GB-u-co-phonebk-x-abcdefgh",
		"qaa-Qaaa-QM-x-southern", "sgn-BE-FR", "zh-min-nan",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := parseLocale("body.locale", s)
		if err != nil {
			refusedAs(t, s, err, "body.locale")
			return
		}
		if s == "" || loc == "" {
			if s != "" || loc != "" {
				t.Fatalf("%q accepted as %q", s, loc)
			}
			return
		}
		// The stored form fits the column (35 characters) and is canonical.
		if len(loc) > 35 {
			t.Fatalf("%q accepted as %q, longer than 35 characters", s, loc)
		}
		if tag, err := language.Parse(loc); err != nil || tag.String() != loc {
			t.Fatalf("%q accepted as %q, which is not a canonical tag (%v, %v)", s, loc, tag, err)
		}
		if again, err := parseLocale("body.locale", loc); err != nil || again != loc {
			t.Fatalf("%q accepted as %q, which parses to %q, %v", s, loc, again, err)
		}
	})
}

func FuzzParseNames(f *testing.F) {
	for _, s := range []string{
		"invoices:read", "users:read-all", "a:b", "A:b", "a:B", "1a:b", "a:", ":a", "a:b:c", "a_b-c9:x_y",
		strings.Repeat("a", 64) + ":b", strings.Repeat("a", 65) + ":b", "invoices:read\n",
		"admin", "site.manager", "-x", ".x", "Role_1", strings.Repeat("r", 64), strings.Repeat("r", 65), "r\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := false
		if res, act, ok := strings.Cut(s, ":"); ok {
			want = ident(res, func(c byte) bool { return 'a' <= c && c <= 'z' }, func(c byte) bool {
				return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
			}) && ident(act, func(c byte) bool { return 'a' <= c && c <= 'z' }, func(c byte) bool {
				return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
			})
		}
		if got := ValidPermissionName(s); got != want {
			t.Fatalf("ValidPermissionName(%q) = %v, want %v", s, got, want)
		}
		if p, err := parsePermissionName("body.name", s); want && (err != nil || p != s) {
			t.Fatalf("parsePermissionName(%q) = %q, %v", s, p, err)
		} else if !want {
			refusedAs(t, s, err, "body.name")
		}

		alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
		want = ident(s, alnum, func(c byte) bool { return alnum(c) || c == '.' || c == '_' || c == '-' })
		if r, err := parseRoleName("body.name", s); want && (err != nil || r != s) {
			t.Fatalf("parseRoleName(%q) = %q, %v", s, r, err)
		} else if !want {
			refusedAs(t, s, err, "body.name")
		}
	})
}

// ident reports whether s has 1 to 64 bytes, the first one first, the others rest.
func ident(s string, first, rest func(byte) bool) bool {
	if s == "" || len(s) > 64 || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

// FuzzParseProfile checks the whole patch: each field present in the input is
// in the patch, each refused one is reported under the prefix, and what is
// accepted fits the columns of uam.profiles and parses again to itself.
func FuzzParseProfile(f *testing.F) {
	f.Add(uint8(0xff), "Ada", "Ada", "Lovelace", "https://example.com/a.png", "en-gb", "Europe/London", "+14155550100", []byte(`{"a":1}`))
	f.Add(uint8(0xff), "", "", "", "", "", "", "", []byte(`{}`))
	f.Add(uint8(0xff), " Ada ", "\u202e", "x", "ftp://example.com", "en_GB", "Local", "0800", []byte(`[]`))
	f.Add(uint8(0xaa), "a\nb", "b", "c", "https://user:pw@example.com/", "i-klingon", "posix/UTC", "+1", []byte(`{"a":1e3}`))
	f.Add(uint8(0x00), "x", "y", "z", "http://[::1]/", "de", "UTC", "+123456789012345", []byte(`{"a":[]}`))
	f.Add(uint8(0x7f), "李小龍", "", "\t", "HTTP://Example.com:8080/a%20b?c=d#e", "zh-hant-hk", "Asia/Hong_Kong", "+8521234567", []byte(nil))
	f.Add(uint8(0x08), "", "", "", "https://example.com/ a", "", "", "", []byte(nil))
	f.Add(uint8(0x08), "", "", "", "ftp://example.com/a.png", "", "", "", []byte(nil))
	f.Add(uint8(0x40), "", "", "", "", "", "", "+0123", []byte(nil))
	f.Fuzz(func(t *testing.T, present uint8, display, given, family, avatar, locale, tz, phone string, metadata []byte) {
		var in ProfileInput
		set := func(bit uint, dst **string, v string) {
			if present&(1<<bit) != 0 {
				*dst = &v
			}
		}
		set(0, &in.DisplayName, display)
		set(1, &in.GivenName, given)
		set(2, &in.FamilyName, family)
		set(3, &in.AvatarURL, avatar)
		set(4, &in.Locale, locale)
		set(5, &in.Timezone, tz)
		set(6, &in.Phone, phone)
		if present&(1<<7) != 0 {
			raw := json.RawMessage(metadata)
			in.Metadata = &raw
		}

		p, err := ParseProfile("body", in)

		// Each field on its own decides whether it is reported.
		type field struct {
			name string
			in   *string
			out  *string
			max  int // characters, as the column's CHECK counts them
		}
		text := func(max int) func(string, string) (string, error) {
			return func(f, s string) (string, error) { return parseText(f, s, max, false) }
		}
		fields := []field{
			{"display_name", in.DisplayName, p.DisplayName, 200},
			{"given_name", in.GivenName, p.GivenName, 100},
			{"family_name", in.FamilyName, p.FamilyName, 100},
			{"avatar_url", in.AvatarURL, p.AvatarURL, 2048},
			{"locale", in.Locale, p.Locale, 35},
			{"timezone", in.Timezone, p.Timezone, 64},
			{"phone", in.Phone, p.Phone, 16},
		}
		parsers := []func(string, string) (string, error){text(200), text(100), text(100), parseAvatarURL, parseLocale, parseTimezone, parsePhone}
		wantFields := map[string]bool{}
		for i := range fields {
			fl := &fields[i]
			if (fl.in == nil) != (fl.out == nil) {
				t.Fatalf("%s: given %s, patched %s", fl.name, short(fl.in), short(fl.out))
			}
			if fl.in == nil {
				continue
			}
			if _, e := parsers[i]("body."+fl.name, *fl.in); e != nil {
				wantFields["body."+fl.name] = true
			}
		}
		if in.Metadata != nil {
			if _, e := parseMetadata("body.metadata", *in.Metadata); e != nil {
				wantFields["body.metadata"] = true
			}
		} else if p.Metadata != nil {
			t.Fatalf("metadata not given, patched %s", short([]byte(p.Metadata)))
		}

		if err != nil {
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid {
				t.Fatalf("%v is not a client error", err)
			}
			got := map[string]bool{}
			for _, fe := range pe.Fields {
				got[fe.Field] = true
			}
			if len(got) != len(pe.Fields) || !reflect.DeepEqual(got, wantFields) {
				t.Fatalf("reported %v, want %v", pe.Fields, wantFields)
			}
			return
		}
		if len(wantFields) > 0 {
			t.Fatalf("accepted, but %v are invalid", wantFields)
		}

		// What is accepted fits the table (schema/uam/00001_init.sql)...
		for _, fl := range fields {
			if fl.out != nil && (utf8.RuneCountInString(*fl.out) > fl.max || !utf8.ValidString(*fl.out)) {
				t.Fatalf("%s accepted as %s, which the column refuses", fl.name, short(*fl.out))
			}
		}
		if p.Phone != nil && *p.Phone != "" && !e164Number(*p.Phone) {
			t.Fatalf("phone accepted as %q", *p.Phone)
		}
		if a := p.AvatarURL; a != nil && *a != "" {
			u, err := url.Parse(*a)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
				strings.IndexFunc(*a, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
				t.Fatalf("avatar_url accepted as %s", short(*a))
			}
		}
		if in.Metadata != nil && (len(p.Metadata) == 0 || p.Metadata[0] != '{') {
			t.Fatalf("metadata accepted as %s", short([]byte(p.Metadata)))
		}

		// ...and is canonical: the patch, given again, is the same patch.
		again := ProfileInput{DisplayName: p.DisplayName, GivenName: p.GivenName, FamilyName: p.FamilyName,
			AvatarURL: p.AvatarURL, Locale: p.Locale, Timezone: p.Timezone, Phone: p.Phone}
		if p.Metadata != nil {
			again.Metadata = &p.Metadata
		}
		q, err := ParseProfile("body", again)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("patch %s parses again to %s, %v", patchString(p), patchString(q), err)
		}
	})
}

func patchString(p ProfilePatch) string {
	return fmt.Sprintf("{display_name %s given_name %s family_name %s avatar_url %s locale %s timezone %s phone %s metadata %s}",
		short(p.DisplayName), short(p.GivenName), short(p.FamilyName), short(p.AvatarURL), short(p.Locale),
		short(p.Timezone), short(p.Phone), short([]byte(p.Metadata)))
}

// e164Number restates E.164: a plus, then 2 to 15 digits, the first not zero.
func e164Number(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func TestParseMetadataSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		raw string
		ok  bool
	}{
		{`{"s":"` + strings.Repeat("x", maxMetadata-8) + `"}`, true},
		{`{"s":"` + strings.Repeat("x", maxMetadata-7) + `"}`, false},
		{"{\"s\":\"" + strings.Repeat("x", maxMetadata-8) + "\"\n}", true}, // measured compact
	} {
		_, err := parseMetadata("body.metadata", []byte(tc.raw))
		if (err == nil) != tc.ok {
			t.Errorf("%d bytes: err %v, want ok=%v", len(tc.raw), err, tc.ok)
		}
	}
}
