package iam

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	api "github.com/saasplatform/saas/gen/api/iam"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
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
	strict := api.NewStrictHandlerWithOptions(handlers{svc}, []api.StrictMiddlewareFunc{withRequest(svc.trustedProxies)},
		api.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  httpapi.RequestErrorHandler,
			ResponseErrorHandlerFunc: httpapi.ResponseErrorHandler,
		})
	h := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseURL:          Prefix,
		BaseRouter:       http.NewServeMux(),
		ErrorHandlerFunc: httpapi.RequestErrorHandler,
	})
	return httpapi.API{Name: "iam", Prefix: Prefix, Spec: spec, Handler: h, Idempotent: idem.Wrap(h)}
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

// oauthRequest reads an OAuth endpoint's request: the form's fields, each
// at most once, and the client's credentials from HTTP Basic
// (client_secret_basic, whose parts are form-encoded before base64, RFC 6749
// §2.3.1) or from the form (client_secret_post), not both. basic tells
// whether the client tried HTTP Basic, which an invalid_client answer then
// challenges.
func oauthRequest(ctx context.Context) (req OAuthRequest, basic bool, err error) {
	facts := factsFrom(ctx)
	req.Params = map[string]string{}
	for name, values := range facts.form {
		if len(values) > 1 {
			return OAuthRequest{}, false, oauthFail(errInvalidRequest, name+" is given more than once")
		}
		req.Params[name] = values[0]
	}
	scheme, credentials, _ := strings.Cut(facts.authorization, " ")
	basic = strings.EqualFold(scheme, "Basic")
	id, posted := req.Params["client_id"]
	switch {
	case basic && posted:
		return OAuthRequest{}, true, oauthFail(errInvalidRequest, "the client authenticated twice: HTTP Basic and client_id")
	case basic:
		id, secret, ok := decodeBasic(strings.TrimSpace(credentials))
		if !ok {
			return OAuthRequest{}, true, oauthFail(errInvalidClient, "the Basic credentials are malformed")
		}
		req.Client = &ClientCredentials{ID: id, Secret: secret}
	case posted:
		req.Client = &ClientCredentials{ID: id, Secret: req.Params["client_secret"]}
	}
	return req, basic, nil
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
