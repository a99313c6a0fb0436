package content

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// The lists' cursors come back from clients: any text either decodes to the
// one key whose cursor it is, or is refused as a 400 naming query.cursor;
// nothing else, and never a panic.
func FuzzCursors(f *testing.F) {
	id := uuid.MustParse("0194f0a2-7c1a-7def-8a2b-1c2d3e4f5a6b")
	for _, seed := range []string{
		encodeRank(rankKey{0.6079271, id}), encodeRank(rankKey{float32(math.Inf(1)), id}),
		encodeTime(timeKey{time.UnixMicro(1767225600123456), id}), encodeTime(timeKey{time.UnixMicro(-1), id}),
		encodeNumber(1), encodeNumber(math.MaxInt32), page.Encode(id), page.EncodeText("r7fc00000." + id.String()),
		page.EncodeText("rA." + id.String()), page.EncodeText("t01." + id.String()), page.EncodeText("n01"), "", "x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, c string) {
		refused := func(err error) {
			t.Helper()
			var pe *problem.Error
			if pe, _ = err.(*problem.Error); pe == nil || pe.Kind != problem.KindInvalid || len(pe.Fields) != 1 ||
				pe.Fields[0].Field != "query.cursor" {
				t.Fatalf("%q refused with %v", c, err)
			}
		}
		if k, err := decodeRank(&c); err != nil {
			refused(err)
		} else if got := encodeRank(*k); got != c {
			t.Fatalf("rank cursor %q decodes to %+v, which encodes as %q", c, *k, got)
		}
		if k, err := decodeTime(&c); err != nil {
			refused(err)
		} else if got := encodeTime(*k); got != c {
			t.Fatalf("time cursor %q decodes to %+v, which encodes as %q", c, *k, got)
		}
		if n, err := decodeNumber(&c); err != nil {
			refused(err)
		} else if got := encodeNumber(*n); got != c {
			t.Fatalf("number cursor %q decodes to %d, which encodes as %q", c, *n, got)
		}
	})
}
