package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
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

// API is one service's OpenAPI document mounted under its path prefix.
type API struct {
	Name    string      // e.g. "config-vault"
	Prefix  string      // e.g. "/config-vault/v1"; the spec's servers[0].url
	Spec    *openapi3.T // the embedded spec (GetSwagger of the generated package)
	Handler http.Handler
	MaxBody int64 // 0 means DefaultMaxBody
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
	// Hostnames are validated by the domain layer with a precise message.
	"hostname": openapi3.NewCallbackValidator(func(string) error { return nil }),
})

// Mount returns the handler for everything under api.Prefix: the spec itself
// at <prefix>/openapi.json, 404/405 problems for what the spec does not
// declare, bounded bodies, and validation of every request against the spec
// before api.Handler sees it. The strict server validates nothing by itself.
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
		MultiError:              true,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{FormatValidators, openapi3.DisableSchemaErrorDetails()},
	}
	specPath := api.Prefix + "/openapi.json"

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == specPath {
			serveSpec(w, r, specJSON)
			return
		}
		route, params, err := FindRoute(router, r)
		if err != nil {
			routeProblem(w, r, router)
			return
		}
		if err := knownQuery(r, route); err != nil {
			problem.Write(w, r, err)
			return
		}
		if err := readBody(w, r, route, maxBody); err != nil {
			problem.Write(w, r, err)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			problem.Write(w, r, validationProblem(err))
			return
		}
		api.Handler.ServeHTTP(w, r)
	}), nil
}

func serveSpec(w http.ResponseWriter, r *http.Request, spec []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		problem.Write(w, r, problem.New(problem.KindMethodNotAllowed, "%s is not allowed here", r.Method))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(spec)
}

// FindRoute is router.FindRoute, except that an empty path segment never
// fills a path parameter: kin-openapi's legacy router matches
// "DELETE /tenants" to "/tenants/{tenant_id}" with an empty id.
func FindRoute(router routers.Router, r *http.Request) (*routers.Route, map[string]string, error) {
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

// knownQuery refuses query parameters the operation does not declare: a
// misspelt filter must not silently return everything.
func knownQuery(r *http.Request, route *routers.Route) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var fields []problem.FieldError
	for name := range r.URL.Query() {
		if !declared[name] {
			fields = append(fields, problem.FieldError{Field: "query." + name, Message: "is not a parameter of this operation"})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	return problem.Invalid("the request has unknown query parameters", fields...)
}

// readBody enforces the body limit and media type, then buffers the body so
// the validator and the handler can both read it.
func readBody(w http.ResponseWriter, r *http.Request, route *routers.Route, limit int64) error {
	if r.ContentLength > limit {
		return problem.New(problem.KindTooLarge, "the request body exceeds %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return problem.New(problem.KindTooLarge, "the request body exceeds %d bytes", limit)
		}
		return problem.Invalid("the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		if len(body) > 0 {
			return problem.Field("body", "this operation takes no request body")
		}
		return nil
	}
	if len(body) == 0 {
		if rb.Value.Required {
			return problem.Field("body", "a JSON request body is required")
		}
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || rb.Value.Content.Get(mediaType) == nil {
		return problem.New(problem.KindUnsupportedMediaType, "send the body as application/json")
	}
	if mediaType == "application/json" && !json.Valid(body) {
		return problem.Field("body", "the body is not valid JSON")
	}
	return nil
}

// validationProblem flattens kin-openapi's errors into one entry per bad field.
func validationProblem(err error) error {
	var fields []problem.FieldError
	collectFields(err, "", &fields)
	if len(fields) == 0 {
		fields = append(fields, problem.FieldError{Field: "request", Message: "the request does not match the API description"})
	}
	return problem.Invalid("the request is invalid", fields...)
}

// collectFields switches on concrete types: openapi3.MultiError answers
// errors.As for any of its elements, which would lose the nesting.
func collectFields(err error, prefix string, out *[]problem.FieldError) {
	add := func(field, msg string) {
		*out = append(*out, problem.FieldError{Field: strings.TrimPrefix(field, "."), Message: msg})
	}
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			collectFields(inner, prefix, out)
		}
	case *openapi3filter.RequestError:
		field := "request"
		switch {
		case e.Parameter != nil:
			field = e.Parameter.In + "." + e.Parameter.Name
		case e.RequestBody != nil:
			field = "body"
		}
		if e.Err == nil {
			add(field, e.Reason)
			return
		}
		collectFields(e.Err, field, out)
	case *openapi3.SchemaError:
		field := prefix
		for _, p := range e.JSONPointer() {
			field += "." + p
		}
		switch e.SchemaField {
		case "required": // the path already names the missing property
			add(field, "is required")
			return
		case "properties": // an unknown property: name it, not its parent object
			if name, ok := strings.CutPrefix(e.Reason, `property "`); ok {
				if name, ok := strings.CutSuffix(name, `" is unsupported`); ok {
					add(field+"."+name, "is not a known field")
					return
				}
			}
		}
		add(field, e.Reason)
	case *openapi3filter.ParseError:
		add(prefix, e.Reason)
	default:
		if inner := errors.Unwrap(err); inner != nil {
			collectFields(inner, prefix, out)
			return
		}
		add(prefix, err.Error())
	}
}

// RequestErrorHandler is for the generated servers' binding errors: the
// client's fault (400), and never answered in text/plain.
func RequestErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, problem.Invalid(fmt.Sprintf("the request is invalid: %v", err)))
}

// ResponseErrorHandler renders a handler's error as problem+json.
func ResponseErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, err)
}
