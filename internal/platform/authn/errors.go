package authn

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// InvalidTokenDetail is the one client-visible detail of every rejected
// token: which check failed is for the logs (problem.Error.Err) only.
const InvalidTokenDetail = "the access token is invalid or expired"

// Reasons a token is refused. They are wrapped, with specifics, in the Err
// of the *problem.Error that Verify returns: test with errors.Is, log with
// err.Error(), never show them to a client.
var (
	errTooLarge     = errors.New("token too large")
	errMalformed    = errors.New("token malformed")
	errType         = errors.New("token typ is not at+jwt")
	errAlgorithm    = errors.New("token alg not allowed")
	errUnknownKey   = errors.New("token kid not in the tenant's key set")
	errKeyAlgorithm = errors.New("token alg differs from the key's")
	errSignature    = errors.New("token signature invalid")
	errIssuer       = errors.New("token iss invalid")
	errTenant       = errors.New("token tenant_id invalid")
	errAudience     = errors.New("token aud lacks the audience")
	errExpired      = errors.New("token expired")
	errNotYetValid  = errors.New("token not yet valid")
	errClaims       = errors.New("token claims invalid")

	errNoToken           = errors.New("no bearer token")
	errMalformedHeader   = errors.New("malformed Authorization header")
	errInsufficientScope = errors.New("insufficient scope")
)

func invalidToken(reason error) *problem.Error {
	return &problem.Error{Kind: problem.KindUnauthorized, Detail: InvalidTokenDetail, Err: reason}
}

func unavailable(cause error, retryAfter time.Duration) *problem.Error {
	return &problem.Error{
		Kind:       problem.KindUnavailable,
		Detail:     "the access token cannot be verified right now; try again shortly",
		RetryAfter: retryAfter,
		Err:        cause,
	}
}

// MissingToken is the error of an operation that needs a token when the
// request has none (its challenge carries no error code, RFC 6750 §3.1).
func MissingToken() *problem.Error {
	return &problem.Error{Kind: problem.KindUnauthorized, Detail: "this operation needs an access token", Err: errNoToken}
}

// InsufficientScope is the error of a verified caller lacking permission
// (403; the challenge names the permission, RFC 6750 §3.1).
func InsufficientScope(permission string) *problem.Error {
	return &problem.Error{
		Kind:   problem.KindForbidden,
		Detail: "the access token does not grant " + permission,
		Err:    &scopeError{permission},
	}
}

type scopeError struct{ permission string }

func (e *scopeError) Error() string { return "insufficient scope: " + e.permission }
func (e *scopeError) Is(target error) bool {
	return target == errInsufficientScope
}

// Challenge sets the WWW-Authenticate header (RFC 6750 §3) that goes with
// err, an error of this package, before the answer is written:
//
//	no token (MissingToken)            Bearer
//	malformed Authorization header     Bearer error="invalid_request"
//	token refused by Verify            Bearer error="invalid_token"
//	InsufficientScope(p)               Bearer error="insufficient_scope", scope="p"
//
// Other errors (KindUnavailable, ...) get no challenge. The middleware does
//
//	Challenge(w, err); problem.Write(w, r, err)
//
// which is what WriteError does.
func Challenge(w http.ResponseWriter, err error) {
	var se *scopeError
	switch {
	case err == nil:
		return
	case errors.As(err, &se) && problem.Is(err, problem.KindForbidden):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+quotable(se.permission)+`"`)
	case !problem.Is(err, problem.KindUnauthorized):
		return
	case errors.Is(err, errNoToken):
		w.Header().Set("WWW-Authenticate", "Bearer")
	case errors.Is(err, errMalformedHeader):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
	default:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
}

// WriteError answers err as problem+json with its challenge.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	Challenge(w, err)
	problem.Write(w, r, err)
}

// quotable keeps a scope value inside its quoted-string: scope tokens never
// hold '"' or '\', but the permission comes from the caller of
// InsufficientScope, so anything else is dropped.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
