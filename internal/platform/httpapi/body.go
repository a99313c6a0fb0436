package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/routers"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// readBody enforces the body limit and media type, checks that a JSON body
// means one thing only, then buffers it so the validator and the handler can
// both read it.
func readBody(w http.ResponseWriter, r *http.Request, route *routers.Route, limit int64) error {
	if r.ContentLength > limit {
		return problem.New(problem.KindTooLarge, "the request body exceeds %d bytes", limit)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody { // the server's Body of a request without one (most GETs)
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return problem.New(problem.KindTooLarge, "the request body exceeds %d bytes", limit)
			}
			return problem.Invalid("the request body could not be read")
		}
	}
	if len(body) == 0 {
		// Nothing to buffer; http.NoBody also tells the validator, which
		// would otherwise read and copy the body again, that there is none.
		r.Body = http.NoBody
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
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
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return problem.New(problem.KindUnsupportedMediaType, "send the body without Content-Encoding")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || rb.Value.Content.Get(mediaType) == nil {
		return problem.New(problem.KindUnsupportedMediaType, "send the body as %s", strings.Join(slices.Sorted(maps.Keys(rb.Value.Content)), " or "))
	}
	if mediaType == "application/json" {
		return checkJSON(body)
	}
	return nil
}

// checkJSON accepts a body only if it has exactly one reading. Go's decoder
// would otherwise replace invalid UTF-8 and lone surrogate escapes with U+FFFD
// and keep the last of duplicate members, so that what is validated, stored
// and hashed for idempotency would differ from what the client sent.
func checkJSON(body []byte) error {
	if !utf8.Valid(body) {
		return problem.Field("body", "is not valid UTF-8")
	}
	if !json.Valid(body) {
		return problem.Field("body", "is not valid JSON")
	}
	return scanJSON(body)
}

// container is one open object or array while scanning.
type container struct {
	keys      map[string]struct{} // nil for an array
	key       string              // the member being read
	index     int                 // the element being read
	expectKey bool
}

// scanJSON walks a body that is already known to be valid JSON once, in
// linear time: it refuses unpaired surrogate escapes in any string and
// duplicate member names in any object. The path of a duplicate is built
// only when one is found.
func scanJSON(b []byte) error {
	var stack []container
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, container{keys: map[string]struct{}{}, expectKey: true})
		case '[':
			stack = append(stack, container{})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.keys != nil {
				top.expectKey = true
			} else {
				top.index++
			}
		case '"':
			end, escaped, err := scanString(b, i)
			if err != nil {
				return err
			}
			if n := len(stack); n > 0 && stack[n-1].expectKey {
				top := &stack[n-1]
				key := string(b[i+1 : end])
				if escaped {
					_ = json.Unmarshal(b[i:end+1], &key) // valid JSON, so it decodes
				}
				if _, dup := top.keys[key]; dup {
					top.key = key
					return problem.Field(jsonPath(stack), "is given more than once")
				}
				top.keys[key] = struct{}{}
				top.key, top.expectKey = key, false
			}
			i = end
		}
	}
	return nil
}

// scanString returns the index of the closing quote of the string opening at
// b[start], whether it has escapes, and an error for an unpaired surrogate.
func scanString(b []byte, start int) (end int, escaped bool, err error) {
	for i := start + 1; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, escaped, nil
		case '\\':
			escaped = true
			if b[i+1] != 'u' {
				i++ // the escaped character, which may be a quote or a backslash
				continue
			}
			switch r := hex4(b[i+2 : i+6]); {
			case r >= 0xD800 && r <= 0xDBFF:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return 0, false, errUnpaired
				}
				if low := hex4(b[i+8 : i+12]); low < 0xDC00 || low > 0xDFFF {
					return 0, false, errUnpaired
				}
				i += 11
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, false, errUnpaired
			default:
				i += 5
			}
		}
	}
	return len(b), escaped, nil // unreachable for valid JSON
}

var errUnpaired = problem.Field("body", "contains an unpaired UTF-16 surrogate escape")

func hex4(b []byte) rune {
	v, _ := strconv.ParseUint(string(b), 16, 32)
	return rune(v)
}

func jsonPath(stack []container) string {
	var sb strings.Builder
	sb.WriteString("body")
	for _, c := range stack {
		sb.WriteByte('.')
		if c.keys != nil {
			sb.WriteString(c.key)
		} else {
			sb.WriteString(strconv.Itoa(c.index))
		}
	}
	return sb.String()
}

// bindingField names the field of a body the generated server could not bind
// although the spec accepted it (30.0 for an integer, say).
func bindingField(err error) (problem.FieldError, bool) {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || typeErr.Field == "" {
		return problem.FieldError{}, false
	}
	msg := "has the wrong type"
	switch typeErr.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		msg = "must be a whole number written without a fraction or exponent"
	case reflect.Float32, reflect.Float64:
		msg = "must be a number"
	case reflect.Bool:
		msg = "must be true or false"
	case reflect.String:
		msg = "must be a string"
	}
	return problem.FieldError{Field: "body." + typeErr.Field, Message: msg}, true
}
