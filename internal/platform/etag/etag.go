// Package etag turns row versions into strong ETags and If-Match headers back
// into the version a change expects (ARCHITECTURE.md §5).
package etag

import (
	"strconv"
	"strings"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Of is the strong ETag of a row version.
func Of(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// Expected parses an optional If-Match header. It returns nil when the change
// is unconditional (no header, or "*"). A header naming no version this
// server could have issued (a weak tag, garbage, several tags) yields -1,
// which matches no row, so the change is refused with 412 rather than applied.
func Expected(ifMatch *string) *int64 {
	if ifMatch == nil {
		return nil
	}
	h := strings.TrimSpace(*ifMatch)
	if h == "*" {
		return nil
	}
	noMatch := int64(-1)
	digits, ok := strings.CutPrefix(h, `"v`)
	if !ok {
		return &noMatch
	}
	digits, ok = strings.CutSuffix(digits, `"`)
	if !ok {
		return &noMatch
	}
	if strings.Trim(digits, "0123456789") != "" || strings.HasPrefix(digits, "0") {
		return &noMatch
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v < 1 {
		return &noMatch
	}
	return &v
}

// Stale is the error for a change whose If-Match no longer matches.
func Stale() error {
	return problem.New(problem.KindPreconditionFailed, "the resource has changed since the If-Match ETag was issued; read it again")
}
