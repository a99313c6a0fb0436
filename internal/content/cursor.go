package content

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/page"
)

// The lists' keyset cursors, each naming the last key of the previous page
// (internal/platform/page): editing lists by id (page.Encode); ranked search
// results by (rank, id); delivery and trash lists by (a time, id);
// revisions by number. A cursor of one kind is refused where another is
// expected, so a cursor taken without q cannot continue a search.

// rankKey is a search result's position: rank descending, then id descending.
type rankKey struct {
	rank float32
	id   uuid.UUID
}

func encodeRank(k rankKey) string {
	return page.EncodeText("r" + strconv.FormatUint(uint64(math.Float32bits(k.rank)), 16) + "." + k.id.String())
}

func decodeRank(cursor *string) (*rankKey, error) {
	var k rankKey
	key, err := page.DecodeText(cursor, func(s string) bool {
		bits, id, ok := strings.Cut(strings.TrimPrefix(s, "r"), ".")
		if !strings.HasPrefix(s, "r") || !ok {
			return false
		}
		b, err := strconv.ParseUint(bits, 16, 32)
		if err != nil {
			return false
		}
		k.rank = math.Float32frombits(uint32(b))
		k.id, err = uuid.Parse(id)
		// Only the spelling encodeRank makes: one cursor per position.
		return err == nil && !math.IsNaN(float64(k.rank)) && k.id.String() == id &&
			strconv.FormatUint(b, 16) == bits
	})
	if key == nil || err != nil {
		return nil, err
	}
	return &k, nil
}

// timeKey is a position in a list by a time descending, then id descending.
type timeKey struct {
	at time.Time
	id uuid.UUID
}

func encodeTime(k timeKey) string {
	return page.EncodeText("t" + strconv.FormatInt(k.at.UnixMicro(), 10) + "." + k.id.String())
}

func decodeTime(cursor *string) (*timeKey, error) {
	var k timeKey
	key, err := page.DecodeText(cursor, func(s string) bool {
		micros, id, ok := strings.Cut(strings.TrimPrefix(s, "t"), ".")
		if !strings.HasPrefix(s, "t") || !ok {
			return false
		}
		us, err := strconv.ParseInt(micros, 10, 64)
		if err != nil {
			return false
		}
		k.at = time.UnixMicro(us).UTC()
		k.id, err = uuid.Parse(id)
		return err == nil && k.id.String() == id && strconv.FormatInt(us, 10) == micros
	})
	if key == nil || err != nil {
		return nil, err
	}
	return &k, nil
}

func encodeNumber(n int) string { return page.EncodeText("n" + strconv.Itoa(n)) }

func decodeNumber(cursor *string) (*int, error) {
	var n int
	key, err := page.DecodeText(cursor, func(s string) bool {
		digits, ok := strings.CutPrefix(s, "n")
		v, err := strconv.Atoi(digits)
		n = v
		return ok && err == nil && v >= 1 && v <= math.MaxInt32 && strconv.Itoa(v) == digits
	})
	if key == nil || err != nil {
		return nil, err
	}
	return &n, nil
}

// cutPage trims rows fetched with limit+1 to the page and makes the cursor
// continuing after its last row; nil on the last page.
func cutPage[T any](rows []T, limit int, cursor func(T) string) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := cursor(rows[limit-1])
	return rows, &next
}
