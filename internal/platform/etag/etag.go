// Package etag turns row versions into strong ETags and If-Match headers back
// into the versions a change accepts (ARCHITECTURE.md §5, RFC 9110 §13.1.1).
package etag

import (
	"slices"
	"strconv"
	"strings"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Of is the strong ETag of a row version.
func Of(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// Expected parses an optional If-Match header into the set of row versions a
// conditional change accepts:
//
//   - nil: the change is unconditional (no header, or "*");
//   - a non-nil slice: the change applies only to a row whose version is in
//     it. The header may list several entity tags (`"v999", "v2"`); any
//     strong tag this server could have issued counts. Weak tags never match
//     (If-Match uses the strong comparison), and neither do tags of another
//     form. A malformed header, or one naming no usable tag, yields an empty
//     slice, which matches no row, so the change is refused with 412 rather
//     than applied.
//
// Versions appear once each, in header order.
func Expected(ifMatch *string) []int64 {
	if ifMatch == nil {
		return nil
	}
	h := strings.Trim(*ifMatch, " \t")
	if h == "*" {
		return nil
	}
	tags, ok := parseList(h)
	if !ok {
		return []int64{}
	}
	out := make([]int64, 0, len(tags))
	for _, tag := range tags {
		if v, ok := version(tag); ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// parseList splits an If-Match field value into its strong opaque tags
// (quotes included); weak tags are parsed but dropped. It follows the list
// rule of RFC 9110 §5.6.1: elements separated by commas with optional white
// space, empty elements allowed. Any other form is malformed.
func parseList(h string) (strong []string, ok bool) {
	i := 0
	skip := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
	}
	for {
		// Empty list elements (", ,") are allowed and ignored.
		skip()
		for i < len(h) && h[i] == ',' {
			i++
			skip()
		}
		if i == len(h) {
			return strong, true
		}
		weak := strings.HasPrefix(h[i:], "W/")
		if weak {
			i += 2
		}
		if i == len(h) || h[i] != '"' {
			return nil, false
		}
		end := i + 1
		for end < len(h) && h[end] != '"' {
			if c := h[end]; c < 0x21 || c == 0x7f { // etagc = %x21 / %x23-7E / obs-text
				return nil, false
			}
			end++
		}
		if end == len(h) {
			return nil, false // no closing quote
		}
		if !weak {
			strong = append(strong, h[i:end+1])
		}
		i = end + 1
		skip()
		if i < len(h) && h[i] != ',' {
			return nil, false
		}
	}
}

// version reads a tag made by Of; any other tag names no version.
func version(tag string) (int64, bool) {
	digits := strings.TrimSuffix(strings.TrimPrefix(tag, `"v`), `"`)
	if len(digits) != len(tag)-3 || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	return v, err == nil && v >= 1
}

// Matches reports whether a row at version satisfies expected, the result of
// [Expected]: nil accepts every version.
func Matches(expected []int64, version int64) bool {
	return expected == nil || slices.Contains(expected, version)
}

// Stale is the error for a change whose If-Match no longer matches.
func Stale() error {
	return problem.New(problem.KindPreconditionFailed, "the resource has changed since the If-Match ETag was issued; read it again")
}
