package page

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// FuzzTextCursor checks both directions of text cursors: every key the list
// accepts survives EncodeText and DecodeText unchanged, and the only strings
// DecodeText accepts are the cursors EncodeText makes, for keys the list
// accepts, so a client cannot spell one cursor two ways or forge a key.
func FuzzTextCursor(f *testing.F) {
	id := Encode(uuid.Must(uuid.NewV7()))
	for _, tc := range [][2]string{
		{"users:read", EncodeText("users:read")}, {"a", "Ag"}, {"", "AmE"}, {"x:y", "AmE="}, {"é:\x00", "AmE\n"},
		{strings.Repeat("k", maxKeyLen), EncodeText(strings.Repeat("k", maxKeyLen+1))}, {"\xff:", id},
		{"role.name", "AmEa"}, {"a:b", "AmE6Yg"}, {"a:b", "AmE6Yh"}, {"a:b", "  "}, {"a:b", "AmE6Yg=="}, {"a:b", "AmE6\r\nYg"},
	} {
		f.Add(tc[0], tc[1])
	}
	// Two lists' rules: one takes any non-empty key, one only names with a colon.
	rules := []func(string) bool{
		func(s string) bool { return s != "" },
		func(s string) bool { return utf8.ValidString(s) && strings.Contains(s, ":") },
	}
	f.Fuzz(func(t *testing.T, key, cursor string) {
		for i, valid := range rules {
			c := EncodeText(key)
			got, err := DecodeText(&c, valid)
			if valid(key) && len(key) <= maxKeyLen {
				if err != nil || got == nil || *got != key {
					t.Fatalf("rule %d: DecodeText(EncodeText(%q)) = %v, %v", i, key, got, err)
				}
			} else if err == nil {
				t.Fatalf("rule %d: %q is no key of the list, but its cursor %q decodes to %q", i, key, c, *got)
			} else {
				refused(t, c, err)
			}
			if _, err := Decode(&c); err == nil {
				t.Fatalf("the text cursor %q passes for an id cursor", c)
			}

			got, err = DecodeText(&cursor, valid)
			if err != nil {
				refused(t, cursor, err)
				continue
			}
			if got == nil {
				t.Fatalf("rule %d: %q accepted without a key", i, cursor)
			}
			if *got == "" || len(*got) > maxKeyLen || !valid(*got) || EncodeText(*got) != cursor {
				t.Fatalf("rule %d: %q accepted as %q, whose cursor is %q", i, cursor, *got, EncodeText(*got))
			}
		}
	})
}

func refused(t *testing.T, cursor string, err error) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid || len(pe.Fields) != 1 || pe.Fields[0].Field != "query.cursor" {
		t.Fatalf("%q refused with %#v, want an invalid query.cursor", cursor, err)
	}
}
