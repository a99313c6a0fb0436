package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestCheck(t *testing.T) {
	const field = "body.password"
	for _, tc := range []struct {
		name, pw, msg string // msg "" means accepted
	}{
		{"7 characters", "xk3#pq9", msgTooShort},
		{"8 characters", "xk3#pq9z", ""},
		{"empty", "", msgTooShort},
		{"128 characters", strings.Repeat("xk3#", 32), ""},
		{"129 characters", strings.Repeat("xk3#", 32) + "z", msgTooLong},
		{"8 two-byte characters", strings.Repeat("é", 8), ""},
		{"7 two-byte characters", strings.Repeat("é", 7), msgTooShort},
		{"128 four-byte characters", strings.Repeat("😀", 128), ""},
		{"129 four-byte characters", strings.Repeat("😀", 129), msgTooLong},
		{"129 one-byte characters within the byte cap", strings.Repeat("a1", 64) + "b", msgTooLong},
		// 128 characters once composed, but 1152 bytes as typed: the byte cap
		// comes first (documented at MaxBytes).
		{"128 decomposed Hangul syllables", strings.Repeat("\u1100\u1161\u11a8", 128), msgTooLong},
		{"8 decomposed Hangul syllables", strings.Repeat("\u1100\u1161\u11a8", 8), ""},
		{"far over the byte cap", strings.Repeat("a", 1<<20), msgTooLong},
		{"spaces count and are kept", "        ", ""},
		{"emoji with ZWJ", "👩‍👩‍👧‍👦 family!", ""},
		{"no composition rules", "thisisalllowercaseletters", ""},
		{"invalid UTF-8", "abcdefgh\xff", msgUTF8},
		{"tab", "abcd\tefgh", msgControl},
		{"newline", "abcdefgh\n", msgControl},
		{"NUL", "abcd\x00efgh", msgControl},
		{"DEL", "abcd\x7fefgh", msgControl},
		{"C1 control", "abcd\u0085efgh", msgControl},
		{"common", "baseball1", msgCommon},
		{"common, mixed case", "PassWord1", msgCommon},
		{"common, upper case", "PASSWORD123", msgCommon},
		{"common, 8 characters", "12345678", msgCommon},
		{"common word plus suffix is fine", "baseball1-and-more", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(field, tc.pw)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Check refused: %v", err)
				}
				return
			}
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid {
				t.Fatalf("Check = %v; want a KindInvalid *problem.Error", err)
			}
			if len(pe.Fields) != 1 || pe.Fields[0].Field != field || pe.Fields[0].Message != tc.msg {
				t.Fatalf("fields %+v; want one for %s saying %q", pe.Fields, field, tc.msg)
			}
			if len(tc.pw) >= 4 && strings.Contains(pe.Error()+pe.Fields[0].Message, tc.pw[:4]) {
				t.Fatalf("error %q repeats the password", pe.Error()+pe.Fields[0].Message)
			}
		})
	}
}

// The bundled list must cover at least the 10,000 most common passwords, and
// every one of those that the length rule lets through must be refused, in
// any case.
func TestCommonPasswords(t *testing.T) {
	list := frequency.FrequencyLists["passwords"]
	if len(list) < 10000 {
		t.Fatalf("the bundled list has %d entries, want at least 10000", len(list))
	}
	for _, must := range []string{"password123", "baseball1", "password1", "12345678"} {
		if !contains(list[:10000], must) {
			t.Fatalf("%q is not among the 10,000 most common: pick another test entry", must)
		}
	}
	checked := 0
	for _, pw := range list[:10000] {
		if n := utf8.RuneCountInString(pw); n < MinChars || n > MaxChars {
			continue
		}
		checked++
		for _, variant := range []string{pw, strings.ToUpper(pw)} {
			if got := violation(variant); got != msgCommon {
				t.Errorf("%q: %q, want %q", variant, got, msgCommon)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d list entries were long enough to check", checked)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
