package authn

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// BearerToken reads the request's access token (RFC 6750 §2.1): exactly one
// Authorization header "Bearer <token68>", the scheme in any case, one or
// more spaces before the token. Without the header it returns ("", false,
// nil); with a malformed one, more than one, or another scheme, an error of
// KindUnauthorized (whose challenge is error="invalid_request"). ok is true
// only with a token.
func BearerToken(r *http.Request) (token string, ok bool, err error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, malformedHeader("%d Authorization headers", len(values))
	}
	scheme, rest, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false, malformedHeader("not the Bearer scheme")
	}
	token = strings.TrimLeft(rest, " ")
	if !isToken68(token) {
		return "", false, malformedHeader("the credentials are not token68")
	}
	return token, true, nil
}

func malformedHeader(format string, args ...any) *problem.Error {
	return &problem.Error{
		Kind:   problem.KindUnauthorized,
		Detail: "the Authorization header must be a single \"Bearer <token>\"",
		Err:    fmt.Errorf("%w: "+format, append([]any{errMalformedHeader}, args...)...),
	}
}

// isToken68 is RFC 9110's token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && token68Chars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// token68Chars are the bytes of token68 before its "=" padding: a table,
// as every request's token (a kilobyte) is checked byte by byte.
var token68Chars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()
