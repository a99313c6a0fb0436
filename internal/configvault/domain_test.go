package configvault

import (
	"strings"
	"testing"
	"time"

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
		{strings.Repeat("é", 201), ""},
		{"", ""},
		{"   ", ""},
		{"tab\there", ""},
		{"nul\x00", ""},
		{"bad \xff utf8", ""},
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
		{KeyActive, expired, KeyInactive, true, 0},
		{KeyActive, expired, KeyRevoked, true, 0},
	} {
		changes, err := SigningKey{Status: tc.from, ExpiresAt: tc.expires}.transition(tc.to, now)
		if changes != tc.changes || (err == nil) != (tc.kind == 0) || (err != nil && problem.KindOf(err) != tc.kind) {
			t.Errorf("%s (expired %v) -> %s: %v, %v", tc.from, tc.expires.Before(now), tc.to, changes, err)
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
