package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// DefaultMaxBody bounds request bodies unless a service asks for another limit.
const DefaultMaxBody = 1 << 20

// IdempotencyHeader is the request header that makes a create safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// API is one service's OpenAPI document mounted under its path prefix.
type API struct {
	Name    string      // e.g. "config-vault"
	Prefix  string      // e.g. "/config-vault/v1"; the spec's servers[0].url
	Spec    *openapi3.T // the embedded spec; Mount takes it over (and sets its servers)
	Handler http.Handler
	// Idempotent is Handler behind the Idempotency-Key mechanism; it serves
	// exactly the operations whose spec declares that header.
	Idempotent http.Handler
	MaxBody    int64 // 0 means DefaultMaxBody
	// Authorize, when set, runs for every request routed to an operation of
	// Spec, after routing and before the request's parameters and body are
	// read and validated (so a caller without the right to call an operation
	// learns nothing from validation and makes no body be read). It either
	// answers the request itself and returns ok false, or returns ok true
	// and the request to serve on: r, or r with a context carrying the
	// caller (see package authz). pathParams are the route's raw path
	// parameters, not validated yet.
	Authorize func(w http.ResponseWriter, r *http.Request, route *routers.Route, pathParams map[string]string) (next *http.Request, ok bool)
	// RequestError, when set, answers the requests that Mount refuses before
	// a handler sees them: parameters, body size, media type or content that
	// do not match the operation (err is a *problem.Error). Without it they
	// are answered problem.Write(w, r, err); a service whose operations must
	// answer otherwise (OAuth endpoints, RFC 6749 errors) may do so here.
	RequestError func(w http.ResponseWriter, r *http.Request, err error)
}

// FormatValidators really check the formats the specs use; kin-openapi's
// built-in uuid pattern rejects UUIDv7, which every id here is.
var FormatValidators = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uuid": openapi3.NewCallbackValidator(func(s string) error {
		if len(s) != 36 {
			return errors.New("must be a UUID like 0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b")
		}
		if _, err := uuid.Parse(s); err != nil {
			return errors.New("must be a UUID like 0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b")
		}
		return nil
	}),
	"date-time": openapi3.NewCallbackValidator(func(s string) error {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return errors.New("must be an RFC 3339 date-time")
		}
		return nil
	}),
	// Hostnames are normalised (case, a trailing dot) and then validated by
	// the domain layer, which names the rule that failed.
	"hostname": openapi3.NewCallbackValidator(func(string) error { return nil }),
})

// Mount returns the handler for everything under api.Prefix: the spec itself
// at <prefix>/openapi.json, 404/405 problems for what the spec does not
// declare, bounded bodies, and validation of every request against the spec
// before a handler sees it. The strict server validates nothing by itself.
func Mount(api API) (http.Handler, error) {
	doc := api.Spec
	doc.Servers = openapi3.Servers{{URL: api.Prefix}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: routing the spec: %w", api.Name, err)
	}
	specJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the spec: %w", api.Name, err)
	}
	maxBody := api.MaxBody
	if maxBody == 0 {
		maxBody = DefaultMaxBody
	}
	opts := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Defaults are the handlers' business: filling them in here would
		// turn an explicit null into the default instead of a 400, and
		// re-encode the body the idempotency hash is taken over.
		SkipSettingDefaults:     true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{FormatValidators, openapi3.DisableSchemaErrorDetails()},
	}
	specPath := api.Prefix + "/openapi.json"
	refuse := api.RequestError
	if refuse == nil {
		refuse = problem.Write
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == specPath {
			setRoute(r.Context(), specPath)
			serveSpec(w, r, specJSON)
			return
		}
		route, params, err := FindRoute(router, r)
		if err != nil {
			routeProblem(w, r, router)
			return
		}
		info := infoFrom(r.Context())
		if info != nil {
			info.route = api.Prefix + route.Path
		}
		if api.Authorize != nil {
			var ok bool
			if r, ok = api.Authorize(w, r, route, params); !ok {
				return
			}
		}
		if err := checkParams(r, route); err != nil {
			refuse(w, r, err)
			return
		}
		// A slow upload must not eat the deadline of the work (RequestTimeout).
		readStart := time.Now()
		err = readBody(w, r, route, maxBody)
		r, done := extendDeadline(r, time.Since(readStart))
		defer done()
		if err != nil {
			refuse(w, r, err)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			refuse(w, r, validationProblem(err))
			return
		}
		if id, ok := params["tenant_id"]; ok && info != nil {
			info.tenant = id // valid now: the spec's format for it has been checked
		}
		if api.Idempotent != nil && declaresHeader(route, IdempotencyHeader) {
			api.Idempotent.ServeHTTP(w, r)
			return
		}
		api.Handler.ServeHTTP(w, r)
	}), nil
}

func declaresHeader(route *routers.Route, name string) bool {
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, name) {
				return true
			}
		}
	}
	return false
}

func serveSpec(w http.ResponseWriter, r *http.Request, spec []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		problem.Write(w, r, problem.New(problem.KindMethodNotAllowed, "%s is not allowed here", r.Method))
		return
	}
	if r.URL.RawQuery != "" {
		problem.Write(w, r, problem.Field("query", "the document takes no parameters"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(spec)
}

// FindRoute is router.FindRoute made exact. kin-openapi's legacy router
// matches "DELETE /tenants" to "/tenants/{tenant_id}" with an empty id, and
// "/tenants/" to "/tenants"; neither is a route here. HEAD is routed as GET,
// as net/http serves it. Routing is by path alone: a request in absolute
// form ("GET http://host/path", which RFC 9112 §3.2.2 has servers accept)
// carries a scheme and host that the router would match against the spec's
// path-only server URL, and find nothing.
func FindRoute(router routers.Router, r *http.Request) (*routers.Route, map[string]string, error) {
	if strings.HasSuffix(r.URL.Path, "/") {
		return nil, nil, routers.ErrPathNotFound
	}
	if r.Method == http.MethodHead || r.URL.Scheme != "" || r.URL.Host != "" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "", ""
		if r.Method == http.MethodHead {
			r.Method = http.MethodGet
		}
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range params {
		if v == "" {
			return nil, nil, routers.ErrPathNotFound
		}
	}
	return route, params, nil
}

var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// routeProblem tells a wrong method (405 with Allow) from an unknown path (404).
// kin-openapi's router reports templated paths with another method as not
// found, so every method is probed; this runs on the error path only.
func routeProblem(w http.ResponseWriter, r *http.Request, router routers.Router) {
	var allowed []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, _, err := FindRoute(router, probe); err == nil {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead)
			}
		}
	}
	if len(allowed) == 0 {
		NotFound(w, r)
		return
	}
	sort.Strings(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	problem.Write(w, r, problem.New(problem.KindMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
}
