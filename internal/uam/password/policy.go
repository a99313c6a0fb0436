package password

import (
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/unicode/norm"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Length limits, in characters (Unicode code points of the NFC form).
// Nothing is truncated; there are no composition rules (NIST SP 800-63B).
const (
	MinChars = 8
	MaxChars = 128
	// MaxBytes caps the raw input before anything else looks at it, so that
	// counting, normalising and hashing stay cheap: 128 characters of up to
	// 4 UTF-8 bytes each. A password typed in decomposed form (e.g. Hangul
	// as separate jamo) can hit this cap below 128 composed characters; that
	// is accepted as the price of a fixed bound.
	MaxBytes = 4 * MaxChars
)

// Messages of Check's FieldError. None of them quotes the password.
var (
	msgTooShort = "must be at least " + strconv.Itoa(MinChars) + " characters"
	msgTooLong  = "must be at most " + strconv.Itoa(MaxChars) + " characters"
	msgUTF8     = "must be valid UTF-8 text"
	msgControl  = "must not contain control characters"
	msgCommon   = "is one of the most common passwords"
)

// Check applies the policy to a new password and returns nil or a
// *problem.Error of KindInvalid with one FieldError for field (such as
// "body.password"). The rules, in the order checked:
//
//   - at most MaxBytes bytes (reported as too long);
//   - valid UTF-8: invalid bytes could not be typed again and would be hashed
//     as whatever bytes arrived;
//   - no control characters (Unicode Cc: C0, DEL, C1, so no tabs or newlines):
//     they are almost always paste accidents and are not reliably typeable.
//     Spaces, emoji and format characters such as ZWJ are allowed;
//   - MinChars..MaxChars code points after NFC normalisation;
//   - not among the most common passwords, compared in lower case.
func Check(field, pw string) error {
	if msg := violation(pw); msg != "" {
		return problem.Field(field, msg)
	}
	return nil
}

func violation(pw string) string {
	if len(pw) > MaxBytes {
		return msgTooLong
	}
	if !utf8.ValidString(pw) {
		return msgUTF8
	}
	pw = norm.NFC.String(pw) // as Hash and Verify do
	n := 0
	for _, r := range pw {
		if unicode.IsControl(r) {
			return msgControl
		}
		n++
	}
	switch {
	case n < MinChars:
		return msgTooShort
	case n > MaxChars:
		return msgTooLong
	}
	if _, ok := common()[strings.ToLower(pw)]; ok {
		return msgCommon
	}
	return ""
}

// common is the set of the 30,000 most common passwords of the xato corpus
// (bundled with zxcvbn, lower-case), keeping only those long enough to pass
// the length rule, since shorter ones are refused anyway. Built on first use.
var common = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list)/2)
	for _, s := range list {
		if n := utf8.RuneCountInString(s); n >= MinChars && n <= MaxChars {
			set[strings.ToLower(norm.NFC.String(s))] = struct{}{}
		}
	}
	return set
})
