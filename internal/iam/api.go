package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	api "github.com/saasplatform/saas/gen/api/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Prefix is where the service's API lives; it is the spec's server URL.
const Prefix = "/iam/v1"

// NewAPI mounts the service: the generated routes over the handlers, with
// problem+json for every error (RFC 6749 errors on the OAuth endpoints) and
// Idempotency-Key on the operations that declare it.
func NewAPI(svc *Service, idem *idempotency.Middleware) httpapi.API {
	spec, err := api.GetSwagger()
	if err != nil {
		panic(err) // the spec is embedded at build time; it cannot fail to parse
	}
	strict := api.NewStrictHandlerWithOptions(handlers{svc}, []api.StrictMiddlewareFunc{withRequest(svc.trustedProxies), bearerChallenges},
		api.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  requestError,
			ResponseErrorHandlerFunc: httpapi.ResponseErrorHandler,
		})
	h := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseURL:          Prefix,
		BaseRouter:       http.NewServeMux(),
		ErrorHandlerFunc: requestError,
	})
	return httpapi.API{Name: "iam", Prefix: Prefix, Spec: spec, Handler: h, Idempotent: idem.Wrap(h),
		RequestError: refusedRequest}
}

// oauthPaths are the OAuth endpoints, whose every error is an RFC 6749 one.
var oauthPaths = []string{Prefix + "/oauth2/token", Prefix + "/oauth2/revoke", Prefix + "/oauth2/introspect"}

// refusedRequest answers a request that validation against the spec
// refused (a field too long, a malformed form, another media type, a body
// too large): problem+json, except at the OAuth endpoints, where it is an
// invalid_request like every other malformed request there, so that OAuth
// libraries understand it (RFC 6749 §5.2).
func refusedRequest(w http.ResponseWriter, r *http.Request, err error) {
	if !slices.Contains(oauthPaths, r.URL.Path) {
		problem.Write(w, r, err)
		return
	}
	_ = writeOAuthError(w, oauthFail(errInvalidRequest, describe(err)))
}

// requestError is refusedRequest for what the generated server cannot read
// although validation let it through.
func requestError(w http.ResponseWriter, r *http.Request, err error) {
	if !slices.Contains(oauthPaths, r.URL.Path) {
		httpapi.RequestErrorHandler(w, r, err)
		return
	}
	_ = writeOAuthError(w, oauthFail(errInvalidRequest, "the form could not be read"))
}

// describe is a refused request's problem as one line for
// error_description, naming form fields as the form does.
func describe(err error) string {
	var pe *problem.Error
	if !errors.As(err, &pe) || len(pe.Fields) == 0 {
		return problem.From(err, "").Detail
	}
	parts := make([]string, len(pe.Fields))
	for i, f := range pe.Fields {
		parts[i] = strings.TrimPrefix(f.Field, "body.") + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

// bearerChallenges adds to userinfo's own refusals the WWW-Authenticate of
// RFC 6750 §3, as the authorization middleware does to those it makes: a
// token that stands for no one any more is invalid_token, a client's token
// (which names no user) insufficient_scope.
func bearerChallenges(f api.StrictHandlerFunc, operationID string) api.StrictHandlerFunc {
	if operationID != "UserInfo" {
		return f
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
		response, err := f(ctx, w, r, request)
		authn.Challenge(w, err)
		if problem.Is(err, problem.KindForbidden) && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		}
		return response, err
	}
}

// requestFacts is what handlers need of the HTTP request beyond the
// generated request object: strict handlers see only that object.
type requestFacts struct {
	// address is the client's address, for throttling sign-ins (see
	// clientAddress).
	address netip.Addr
	// authorization is the Authorization header, where OAuth clients may
	// authenticate with HTTP Basic.
	authorization string
	// form is the urlencoded body as sent, so that a repeated field can be
	// refused (RFC 6749 §3.1) instead of silently taking one value.
	form url.Values
}

type factsKey struct{}

// withRequest puts the request's facts into the handler's context.
func withRequest(trusted []netip.Prefix) api.StrictMiddlewareFunc {
	return func(f api.StrictHandlerFunc, _ string) api.StrictHandlerFunc {
		return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
			facts := requestFacts{authorization: r.Header.Get("Authorization"), form: r.PostForm,
				address: clientAddress(r, trusted)}
			return f(context.WithValue(ctx, factsKey{}, facts), w, r, request)
		}
	}
}

// clientAddress is the connection's peer, unless that is one of the trusted
// proxies (a load balancer, an ingress): then the nearest address in
// X-Forwarded-For that is not a trusted proxy itself. Entries further left
// are whatever the client wrote, so they never count: trusting them would
// let an attacker pick a fresh address per guess. Without trusted proxies,
// X-Forwarded-For is ignored altogether.
func clientAddress(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: stay with the last address known to be real
		}
		addr = hop.Unmap()
	}
	return addr
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func factsFrom(ctx context.Context) requestFacts {
	f, _ := ctx.Value(factsKey{}).(requestFacts)
	return f
}

// oauthRequest reads an OAuth endpoint's request (see parseOAuthRequest).
func oauthRequest(ctx context.Context) (OAuthRequest, error) {
	facts := factsFrom(ctx)
	return parseOAuthRequest(facts.authorization, facts.form)
}

// parseOAuthRequest reads the form's fields, each at most once, and the
// client's credentials from HTTP Basic (client_secret_basic, whose parts are
// form-encoded before base64, RFC 6749 §2.3.1) or from the form
// (client_secret_post), not both. Beside HTTP Basic, the form may name the
// same client_id (some libraries send it), never a secret.
func parseOAuthRequest(authorization string, form url.Values) (OAuthRequest, error) {
	req := OAuthRequest{Params: make(map[string]string, len(form))}
	for name, values := range form {
		if len(values) > 1 {
			return OAuthRequest{}, oauthFail(errInvalidRequest, name+" is given more than once")
		}
		req.Params[name] = values[0]
	}
	id, posted := req.Params["client_id"]
	scheme, credentials, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Basic") {
		if posted {
			req.Client = &ClientCredentials{ID: id, Secret: req.Params["client_secret"]}
		}
		return req, nil
	}
	basicID, secret, ok := decodeBasic(strings.TrimSpace(credentials))
	_, postedSecret := req.Params["client_secret"]
	switch {
	case !ok:
		return OAuthRequest{}, oauthFail(errInvalidClient, "the Basic credentials are malformed")
	case postedSecret:
		return OAuthRequest{}, oauthFail(errInvalidRequest, "the client authenticated twice: HTTP Basic and client_secret")
	case posted && id != basicID:
		return OAuthRequest{}, oauthFail(errInvalidRequest, "client_id is not the client of HTTP Basic")
	}
	req.Client = &ClientCredentials{ID: basicID, Secret: secret}
	return req, nil
}

func decodeBasic(credentials string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(credentials)
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	if id, err = url.QueryUnescape(id); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}
