package etag

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestExpected(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		header *string
		want   []int64 // nil: unconditional; empty: matches nothing
	}{
		{nil, nil},
		{s("*"), nil},
		{s(" * "), nil},
		{s(Of(7)), []int64{7}},
		{s(" " + Of(7) + " "), []int64{7}},
		// RFC 9110 §13.1.1: a list passes when any strong tag matches.
		{s(`"v999", "v2"`), []int64{999, 2}},
		{s(`"v7","v8"`), []int64{7, 8}},
		{s("\"v7\"\t,\t\"v8\""), []int64{7, 8}},
		{s(`"v7", "v7"`), []int64{7}},
		{s(`, "v7" ,, "v8",`), []int64{7, 8}}, // empty list elements are allowed
		{s(`"xyz", "v3"`), []int64{3}},        // a tag this server never issued just does not match
		{s(`"a,b", "v3"`), []int64{3}},        // a comma inside a tag is part of it
		// Weak tags never match strongly, alone or in a list.
		{s(`W/"v7"`), []int64{}},
		{s(`W/"v7", "v8"`), []int64{8}},
		{s(`"v8", W/"v7"`), []int64{8}},
		// Tags that name no version.
		{s(`"v0"`), []int64{}},
		{s(`"v07"`), []int64{}},
		{s(`"v-3"`), []int64{}},
		{s(`"v"`), []int64{}},
		{s(`"7"`), []int64{}},
		{s(`"v99999999999999999999"`), []int64{}},
		// Malformed headers match nothing, whatever else they list.
		{s(`v7`), []int64{}},
		{s(``), []int64{}},
		{s(`"v7`), []int64{}},
		{s(`"v7" "v8"`), []int64{}},
		{s(`"v7", *`), []int64{}},
		{s(`"v7", v8`), []int64{}},
		{s(`"v 7"`), []int64{}},
		{s(`W/ "v7"`), []int64{}},
		// Inside a tag only etagc may appear (RFC 9110 §8.8.3: %x21, %x23-7E
		// and obs-text %x80-FF): a space, a control character or DEL makes
		// the whole header malformed, even next to a tag that would match.
		{s(`"x y", "v3"`), []int64{}},
		{s("\"x\ty\", \"v3\""), []int64{}},
		{s("\"x\x00\", \"v3\""), []int64{}},
		{s("\"x\x1f\", \"v3\""), []int64{}},
		{s("\"x\x7f\", \"v3\""), []int64{}},
		{s("W/\"x y\", \"v3\""), []int64{}},
		// The boundaries of etagc, and obs-text, are allowed.
		{s("\"!#~\", \"v3\""), []int64{3}},
		{s("\"\x80\xff\", \"v3\""), []int64{3}},
		{s(`"été", "v3"`), []int64{3}},
	} {
		got := Expected(tc.header)
		if (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("Expected(%s) = %#v, want %#v", show(tc.header), got, tc.want)
		}
	}
	if !problem.Is(Stale(), problem.KindPreconditionFailed) {
		t.Fatal("Stale must be a 412")
	}
}

func TestMatches(t *testing.T) {
	if !Matches(nil, 5) || !Matches([]int64{1, 5}, 5) || Matches([]int64{1}, 5) || Matches([]int64{}, 5) {
		t.Fatal("Matches is wrong")
	}
}

func show(h *string) string {
	if h == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *h)
}

func FuzzExpected(f *testing.F) {
	for _, s := range []string{`"v1"`, `*`, `"v999", "v2"`, `W/"v3", "v4"`, `, ,"v5",`, `"a,b"`, `"v1" "v2"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := Expected(&h)
		if got == nil {
			if strings.Trim(h, " \t") != "*" {
				t.Fatalf("%q made the change unconditional", h)
			}
			return
		}
		for i, v := range got {
			// Every accepted version was listed as a strong tag: more often
			// as Of(v) than as its weak form W/Of(v).
			if v < 1 || strings.Count(h, Of(v)) <= strings.Count(h, "W/"+Of(v)) {
				t.Fatalf("%q accepted as version %d", h, v)
			}
			if slices.Contains(got[:i], v) {
				t.Fatalf("%q: version %d listed twice in %v", h, v, got)
			}
		}
		// Listing the accepted versions again yields the same set.
		tags := make([]string, len(got))
		for i, v := range got {
			tags[i] = Of(v)
		}
		if len(got) > 0 {
			again := strings.Join(tags, ", ")
			if back := Expected(&again); !slices.Equal(back, got) {
				t.Fatalf("%q -> %v, but %q -> %v", h, got, again, back)
			}
		}
	})
}
