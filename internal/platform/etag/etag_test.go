package etag

import (
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestExpected(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		header *string
		want   int64 // 0: unconditional (nil)
	}{
		{nil, 0},
		{s("*"), 0},
		{s(Of(7)), 7},
		{s(" " + Of(7) + " "), 7},
		{s(`W/"v7"`), -1}, // weak tags never match strongly
		{s(`"v0"`), -1},
		{s(`"v-3"`), -1},
		{s(`v7`), -1},
		{s(`"7"`), -1},
		{s(`"v7", "v8"`), -1},
		{s(``), -1},
		{s(`"v99999999999999999999"`), -1},
	} {
		got := Expected(tc.header)
		switch {
		case tc.want == 0 && got != nil:
			t.Errorf("Expected(%q) = %d, want unconditional", *tc.header, *got)
		case tc.want != 0 && (got == nil || *got != tc.want):
			t.Errorf("Expected(%v) = %v, want %d", tc.header, got, tc.want)
		}
	}
	if !problem.Is(Stale(), problem.KindPreconditionFailed) {
		t.Fatal("Stale must be a 412")
	}
}

func FuzzExpected(f *testing.F) {
	f.Add(`"v1"`)
	f.Fuzz(func(t *testing.T, h string) {
		got := Expected(&h)
		if got != nil && *got > 0 && Of(*got) != strings.TrimSpace(h) {
			t.Fatalf("%q accepted as version %d", h, *got)
		}
	})
}
