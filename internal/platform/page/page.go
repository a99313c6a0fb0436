// Package page implements opaque keyset cursors over time-ordered (UUIDv7) ids:
// a cursor names the last id of the previous page, so pages stay stable while
// rows are added and the database never needs OFFSET.
package page

import (
	"encoding/base64"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

const (
	// DefaultLimit and MaxLimit follow ARCHITECTURE.md §5; the specs repeat them.
	DefaultLimit = 50
	MaxLimit     = 500
	version      = 1
	cursorLen    = 23 // 17 bytes in unpadded base64
)

// Encode makes the cursor that continues after id.
func Encode(after uuid.UUID) string {
	b := make([]byte, 0, 17)
	b = append(b, version)
	b = append(b, after[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads an optional cursor; a malformed one is the client's error.
func Decode(cursor *string) (*uuid.UUID, error) {
	if cursor == nil {
		return nil, nil
	}
	// Strict, and of the exact length, because the decoder would otherwise
	// accept other spellings of the same bytes (stray bits, line breaks).
	b, err := base64.RawURLEncoding.Strict().DecodeString(*cursor)
	if err != nil || len(*cursor) != cursorLen || len(b) != 17 || b[0] != version {
		return nil, problem.Field("query.cursor", "is not a cursor this API issued")
	}
	id, _ := uuid.FromBytes(b[1:])
	return &id, nil
}

// Limit applies the default and the bounds to an optional page size. Callers
// fetch one row more than the limit to learn whether a next page exists.
func Limit(limit *int) int {
	switch {
	case limit == nil:
		return DefaultLimit
	case *limit < 1:
		return 1
	case *limit > MaxLimit:
		return MaxLimit
	}
	return *limit
}

// Cut trims a result fetched with Limit+1 rows to the page and returns the
// cursor for the next page, nil on the last one.
func Cut[T any](rows []T, limit int, id func(T) uuid.UUID) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := Encode(id(rows[limit-1]))
	return rows, &next
}
