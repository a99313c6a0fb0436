package configvault

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestParseDomain(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means invalid
	}{
		{"example.com", "example.com"},
		{"  Shop.EXAMPLE.com.  ", "shop.example.com"},
		{"localhost", "localhost"},
		{"a-b.c-d.io", "a-b.c-d.io"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{strings.Repeat("a", 63) + ".io", strings.Repeat("a", 63) + ".io"},
		{"", ""},
		{".", ""},
		{"a..b", ""},
		{".a.b", ""},
		{"-a.b", ""},
		{"a-.b", ""},
		{"a_b.c", ""},
		{"bücher.example", ""},
		{"a b.c", ""},
		{"1.2.3.4", ""},
		{"host.123", ""},
		{strings.Repeat("a", 64) + ".io", ""},
		{strings.Repeat("abcdefghi.", 26) + "com", ""}, // 263 characters
	} {
		got, err := ParseDomain("body.domain", tc.in)
		if tc.want == "" {
			if !problem.Is(err, problem.KindInvalid) {
				t.Errorf("ParseDomain(%q) = %q, %v; want invalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"Acme", "Acme"},
		{"  Acme Inc  ", "Acme Inc"},
		{"Ünïcødé ✓", "Ünïcødé ✓"},
		{strings.Repeat("é", 200), strings.Repeat("é", 200)},
		// The limit holds after trimming: the spec lets 256 characters in.
		{strings.Repeat(" ", 28) + strings.Repeat("é", 200) + strings.Repeat(" ", 28), strings.Repeat("é", 200)},
		{"\u2028Acme\u3000", "Acme"}, // separators around the name are white space, trimmed
		{strings.Repeat("é", 201), ""},
		{" " + strings.Repeat("é", 201) + " ", ""},
		{"", ""},
		{"   ", ""},
		{"tab\there", ""},
		{"nul\x00", ""},
		{"ne\u0085l", ""},
		// Emoji sequences and scripts need ZWJ and ZWNJ.
		{"Family 👨\u200d👩\u200d👧", "Family 👨\u200d👩\u200d👧"},
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"❤\ufe0f", "❤\ufe0f"}, // a variation selector is not a format character
		// Invisible formatting characters are refused.
		{"line\u2028separator", ""},
		{"para\u2029separator", ""},
		{"evil\u202egnp.exe", ""}, // right-to-left override
		{"a\u202ab", ""},
		{"a\u202bb", ""},
		{"a\u202cb", ""},
		{"a\u202db", ""},
		{"a\u200eb", ""}, // LRM
		{"a\u200fb", ""}, // RLM
		{"a\u2066b", ""},
		{"a\u2067b", ""},
		{"a\u2068b", ""},
		{"a\u2069b", ""},
		{"zero\u200bwidth", ""}, // zero-width space (Cf)
		{"soft\u00adhyphen", ""},
		{"bom\ufeffinside", ""},
		{"word\u2060joiner", ""},
		{"tag\U000E0041chars", ""},
	} {
		got, err := ParseName("body.name", tc.in)
		if tc.want == "" {
			if !problem.Is(err, problem.KindInvalid) {
				t.Errorf("ParseName(%q) = %q, %v; want invalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestKeyTransitions(t *testing.T) {
	now := time.Now()
	live, expired := now.Add(time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		from    KeyStatus
		expires time.Time
		to      KeyStatus
		changes bool
		kind    problem.Kind // 0 (internal) means no error
	}{
		{KeyActive, live, KeyInactive, true, 0},
		{KeyInactive, live, KeyActive, true, 0},
		{KeyActive, live, KeyActive, false, 0},
		{KeyActive, live, KeyRevoked, true, 0},
		{KeyInactive, live, KeyRevoked, true, 0},
		{KeyRevoked, live, KeyRevoked, false, 0},
		{KeyRevoked, live, KeyActive, false, problem.KindConflict},
		{KeyRevoked, live, KeyInactive, false, problem.KindConflict},
		{KeyInactive, expired, KeyActive, false, problem.KindConflict},
		{KeyActive, expired, KeyActive, false, problem.KindConflict}, // stored active, but expired
		{KeyActive, expired, KeyInactive, true, 0},
		{KeyInactive, expired, KeyInactive, false, 0},
		{KeyActive, expired, KeyRevoked, true, 0},
		{KeyRevoked, expired, KeyRevoked, false, 0},
		{KeyRevoked, expired, KeyActive, false, problem.KindConflict},
	} {
		changes, err := SigningKey{Status: tc.from, ExpiresAt: tc.expires}.transition(tc.to, now)
		if changes != tc.changes || (err == nil) != (tc.kind == 0) || (err != nil && problem.KindOf(err) != tc.kind) {
			t.Errorf("%s (expired %v) -> %s: %v, %v", tc.from, tc.expires.Before(now), tc.to, changes, err)
		}
	}
}

func TestExpiredIsNotATransitionTarget(t *testing.T) {
	changes, err := SigningKey{Status: KeyActive, ExpiresAt: time.Now().Add(time.Hour)}.transition(KeyExpired, time.Now())
	if changes || err == nil || problem.KindOf(err) != problem.KindInternal {
		t.Fatalf("moving a key to expired: %v, %v; want an internal error", changes, err)
	}
}

func TestStatusAt(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		stored  KeyStatus
		expires time.Time
		want    KeyStatus
	}{
		{KeyActive, now.Add(time.Second), KeyActive},
		{KeyInactive, now.Add(time.Second), KeyInactive},
		{KeyRevoked, now.Add(time.Second), KeyRevoked},
		{KeyActive, now, KeyExpired}, // expires_at is the first instant it is expired
		{KeyActive, now.Add(-time.Second), KeyExpired},
		{KeyInactive, now.Add(-time.Second), KeyExpired},
		{KeyRevoked, now.Add(-time.Second), KeyRevoked}, // revocation is the stronger statement
	} {
		if got := (SigningKey{Status: tc.stored, ExpiresAt: tc.expires}).StatusAt(now); got != tc.want {
			t.Errorf("%s expiring at %v: %s, want %s", tc.stored, tc.expires.Sub(now), got, tc.want)
		}
	}
}

func TestParseKeyStatus(t *testing.T) {
	for _, s := range []string{"active", "inactive", "revoked", "expired"} {
		if got, err := ParseKeyStatus("query.status", s); err != nil || string(got) != s {
			t.Errorf("ParseKeyStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Active", "deleted"} {
		if _, err := ParseKeyStatus("query.status", s); !problem.Is(err, problem.KindInvalid) {
			t.Errorf("ParseKeyStatus(%q) = %v, want invalid", s, err)
		}
	}
}

func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"example.com", "A.B.", "-x", "1.2.3.4", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDomain("body.domain", s)
		if err != nil {
			if !problem.Is(err, problem.KindInvalid) {
				t.Fatalf("%q: %v is not a client error", s, err)
			}
			return
		}
		// What is accepted is canonical: lower-case, stable, and fits the column.
		again, err := ParseDomain("body.domain", d)
		if err != nil || again != d || d != strings.ToLower(d) || len(d) > 253 {
			t.Fatalf("%q accepted as %q, which is not canonical (%q, %v)", s, d, again, err)
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"Acme", "  a  ", "a\u202eb", "👨\u200d👩", "\u2028", strings.Repeat("x", 201)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := ParseName("body.name", s)
		if err != nil {
			if !problem.Is(err, problem.KindInvalid) {
				t.Fatalf("%q: %v is not a client error", s, err)
			}
			return
		}
		// What is accepted is trimmed, fits the column and shows every character.
		again, err := ParseName("body.name", name)
		if err != nil || again != name || name != strings.TrimSpace(name) || name == "" || utf8.RuneCountInString(name) > MaxNameLength {
			t.Fatalf("%q accepted as %q (%q, %v)", s, name, again, err)
		}
		for _, r := range name {
			if unicode.IsControl(r) || (unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) && r != '\u200c' && r != '\u200d') {
				t.Fatalf("%q accepted with %U", s, r)
			}
		}
	})
}
