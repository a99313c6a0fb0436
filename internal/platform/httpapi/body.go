package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
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
	if mediaType == "application/json" {
		return CheckJSON(body)
	}
	return nil
}

// CheckJSON accepts a body only if it has exactly one reading. Go's decoder
// would otherwise replace invalid UTF-8 and lone surrogate escapes with U+FFFD
// and keep the last of duplicate members, so that what is validated, stored
// and hashed for idempotency differs from what the client sent.
func CheckJSON(body []byte) error {
	if !utf8.Valid(body) {
		return problem.Field("body", "is not valid UTF-8")
	}
	if !json.Valid(body) {
		return problem.Field("body", "is not valid JSON")
	}
	if err := checkSurrogates(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkJSON(dec, "body")
}

// checkSurrogates refuses \uD800-\uDFFF escapes that do not form a pair. The
// body is valid JSON, so a backslash occurs only inside strings.
func checkSurrogates(b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
				return problem.Field("body", "contains an unpaired UTF-16 surrogate escape")
			}
			if low := hex4(b[i+8 : i+12]); low < 0xDC00 || low > 0xDFFF {
				return problem.Field("body", "contains an unpaired UTF-16 surrogate escape")
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return problem.Field("body", "contains an unpaired UTF-16 surrogate escape")
		default:
			i += 5
		}
	}
	return nil
}

func hex4(b []byte) rune {
	v, _ := strconv.ParseUint(string(b), 16, 32)
	return rune(v)
}

// walkJSON reads one value and refuses duplicate member names in objects.
func walkJSON(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return problem.Field(path, "is not valid JSON")
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return problem.Field(path, "is not valid JSON")
			}
			key := keyTok.(string)
			if seen[key] {
				return problem.Field(path+"."+key, "is given more than once")
			}
			seen[key] = true
			if err := walkJSON(dec, path+"."+key); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, fmt.Sprintf("%s.%d", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	if err != nil {
		return problem.Field(path, "is not valid JSON")
	}
	return nil
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
