package httpapi

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// checkParams refuses what kin-openapi would let through silently: a query
// string that does not parse (Go drops such pairs), query parameters the
// operation does not declare (a misspelt filter must not return everything),
// booleans spelt other than true/false, and a single-valued query parameter
// or header given more than once. Repeated lines of a list header are joined.
func checkParams(r *http.Request, route *routers.Route) error {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return problem.Field("query", "is not a well-formed query string")
	}
	declared := map[string]*openapi3.Parameter{}
	var fields []problem.FieldError
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, ref := range params {
			p := ref.Value
			if p == nil {
				continue
			}
			switch p.In {
			case openapi3.ParameterInQuery:
				declared[p.Name] = p
			case openapi3.ParameterInHeader:
				values := r.Header.Values(p.Name)
				switch {
				case len(values) < 2:
				case listHeaders[http.CanonicalHeaderKey(p.Name)]:
					// RFC 9110 §5.3: several lines of a list field are one list.
					r.Header.Set(p.Name, strings.Join(values, ", "))
				default:
					fields = append(fields, problem.FieldError{Field: "header." + p.Name, Message: "must be given once"})
				}
			}
		}
	}
	for name, values := range query {
		p, ok := declared[name]
		switch {
		case !ok:
			fields = append(fields, problem.FieldError{Field: "query." + name, Message: "is not a parameter of this operation"})
		case len(values) > 1 && !isArray(p):
			fields = append(fields, problem.FieldError{Field: "query." + name, Message: "must be given once"})
		case isBoolean(p) && values[0] != "true" && values[0] != "false":
			// kin-openapi would take 0, f, FALSE and the like.
			fields = append(fields, problem.FieldError{Field: "query." + name, Message: "must be true or false"})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	return problem.Invalid("the request has unknown or repeated parameters", fields...)
}

// listHeaders are the request headers whose value is a comma-separated list.
var listHeaders = map[string]bool{"If-Match": true, "If-None-Match": true}

func isArray(p *openapi3.Parameter) bool { return schemaIs(p, openapi3.TypeArray) }

func isBoolean(p *openapi3.Parameter) bool { return schemaIs(p, openapi3.TypeBoolean) }

func schemaIs(p *openapi3.Parameter, typ string) bool {
	return p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(typ)
}
