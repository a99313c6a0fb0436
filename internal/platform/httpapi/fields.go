package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

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
// The validator has already refused what the spec refuses, so what remains
// is what the spec allows but Go types cannot hold (30.0 for an integer); the
// binding error's own text names Go types and stays out of the answer.
func RequestErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if field, ok := bindingField(err); ok {
		problem.Write(w, r, problem.Invalid("the request is invalid", field))
		return
	}
	problem.Write(w, r, &problem.Error{Kind: problem.KindInvalid, Detail: "the request could not be read as the API describes it", Err: err})
}

// ResponseErrorHandler renders a handler's error as problem+json.
func ResponseErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	// A database error a service passed on as it came still gets its kind:
	// an outage is 503 and a value PostgreSQL refuses is 400, not 500.
	problem.Write(w, r, pg.Classify(err))
}
