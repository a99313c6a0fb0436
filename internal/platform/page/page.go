// Package page implements opaque keyset cursors: a cursor names the last key
// of the previous page, so pages stay stable while rows are added and the
// database never needs OFFSET. Most lists are keyed by time-ordered (UUIDv7)
// ids; catalogues listed in name order are keyed by text.
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
	textVersion  = 2
	maxKeyLen    = 256
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
	return cut(rows, limit, func(r T) string { return Encode(id(r)) })
}

// CutText is Cut for lists keyed by text.
func CutText[T any](rows []T, limit int, key func(T) string) ([]T, *string) {
	return cut(rows, limit, func(r T) string { return EncodeText(key(r)) })
}

func cut[T any](rows []T, limit int, cursor func(T) string) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := cursor(rows[limit-1])
	return rows, &next
}

// EncodeText makes the cursor that continues after a text key.
func EncodeText(after string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{textVersion}, after...))
}

// DecodeText reads an optional text-keyed cursor; valid says whether a decoded
// key could be a key of the list, so a forged cursor cannot smuggle anything
// into the query.
func DecodeText(cursor *string, valid func(string) bool) (*string, error) {
	if cursor == nil {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(*cursor)
	if err != nil || len(b) < 2 || len(b) > maxKeyLen+1 || b[0] != textVersion || !valid(string(b[1:])) ||
		base64.RawURLEncoding.EncodeToString(b) != *cursor {
		return nil, problem.Field("query.cursor", "is not a cursor this API issued")
	}
	key := string(b[1:])
	return &key, nil
}
