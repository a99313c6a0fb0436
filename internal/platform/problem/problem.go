// Package problem is the platform's one way of failing: domain errors carry a
// Kind, and Write renders any error as an RFC 9457 application/problem+json
// document. The Kind -> HTTP status table lives here and nowhere else.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Kind classifies an error independently of transport.
type Kind int

const (
	// KindInternal is the zero value: an unexpected error whose text must not reach clients.
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindMethodNotAllowed
	KindConflict
	KindPreconditionFailed
	KindPreconditionRequired
	KindUnprocessable
	KindTooLarge
	KindUnsupportedMediaType
	KindUnauthorized
	KindForbidden
	KindRateLimited
	KindUnavailable
)

type kindInfo struct {
	status int
	slug   string
}

// table is the single mapping from error kind to HTTP status and problem type.
var table = map[Kind]kindInfo{
	KindInternal:             {http.StatusInternalServerError, "internal"},
	KindInvalid:              {http.StatusBadRequest, "invalid-request"},
	KindNotFound:             {http.StatusNotFound, "not-found"},
	KindMethodNotAllowed:     {http.StatusMethodNotAllowed, "method-not-allowed"},
	KindConflict:             {http.StatusConflict, "conflict"},
	KindPreconditionFailed:   {http.StatusPreconditionFailed, "precondition-failed"},
	KindPreconditionRequired: {http.StatusPreconditionRequired, "precondition-required"},
	KindUnprocessable:        {http.StatusUnprocessableEntity, "unprocessable"},
	KindTooLarge:             {http.StatusRequestEntityTooLarge, "payload-too-large"},
	KindUnsupportedMediaType: {http.StatusUnsupportedMediaType, "unsupported-media-type"},
	KindUnauthorized:         {http.StatusUnauthorized, "unauthorized"},
	KindForbidden:            {http.StatusForbidden, "forbidden"},
	KindRateLimited:          {http.StatusTooManyRequests, "rate-limited"},
	KindUnavailable:          {http.StatusServiceUnavailable, "unavailable"},
}

// TypeBase prefixes every problem type URI; the suffix is the kind's slug.
const TypeBase = "https://saasplatform.dev/problems/"

// Status is the HTTP status for a kind.
func (k Kind) Status() int { return table[k].status }

// FieldError names one invalid input. Field is a JSON-pointer-like path
// ("body.name", "query.limit", "path.tenant_id", "header.If-Match").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error with a kind. Detail is safe to show to clients.
type Error struct {
	Kind       Kind
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration // rendered as Retry-After for rate-limited/unavailable answers
	Err        error         // optional cause, logged but never shown
}

func (e *Error) Error() string {
	msg := e.Detail
	for _, f := range e.Fields {
		msg += "; " + f.Field + ": " + f.Message
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind with a client-safe detail.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 with one entry per bad field.
func Invalid(detail string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Detail: detail, Fields: fields}
}

// Field is a shorthand for a single-field validation error.
func Field(field, message string) *Error {
	return Invalid("the request is invalid", FieldError{Field: field, Message: message})
}

// NotFound, Conflict and friends exist because they are used everywhere.
func NotFound(format string, args ...any) *Error { return New(KindNotFound, format, args...) }
func Conflict(format string, args ...any) *Error { return New(KindConflict, format, args...) }

// KindOf reports the kind of err, KindInternal for errors without one.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err has the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Problem is the RFC 9457 body.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// asError is err as an *Error: itself, or what a context's end or an
// unexpected error stands for.
func asError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline passed waiting on something (a hung
		// database, a slow service): nobody's bug, and worth a retry.
		e = &Error{Kind: KindUnavailable, Detail: "the request took too long to complete; try again shortly", RetryAfter: time.Second}
	case errors.Is(err, context.Canceled):
		// The client went away: nobody reads the answer.
		e = &Error{Kind: KindUnavailable, Detail: "the request was cancelled before it completed"}
	default:
		e = &Error{Kind: KindInternal, Detail: "an unexpected error occurred"}
	}
	return e
}

// From builds the problem document for err. Errors without a kind become a bare
// 500 whose detail reveals nothing.
func From(err error, instance string) Problem {
	e := asError(err)
	info, ok := table[e.Kind]
	if !ok {
		info = table[KindInternal]
	}
	detail := e.Detail
	if e.Kind == KindInternal {
		detail = "an unexpected error occurred"
	}
	return Problem{
		Type:     TypeBase + info.slug,
		Title:    http.StatusText(info.status),
		Status:   info.status,
		Detail:   detail,
		Instance: instance,
		Errors:   capped(e.Fields),
	}
}

// MaxFieldErrors bounds the entries of one answer's errors: a request with
// thousands of bad members or parameters must not be answered with a
// document many times its own size.
const MaxFieldErrors = 50

func capped(fields []FieldError) []FieldError {
	if len(fields) <= MaxFieldErrors {
		return fields
	}
	out := append([]FieldError(nil), fields[:MaxFieldErrors]...)
	return append(out, FieldError{Field: "request", Message: fmt.Sprintf("and %d more errors", len(fields)-MaxFieldErrors)})
}

// ContentType is the media type of every error answer.
const ContentType = "application/problem+json"

// Write renders err as problem+json. Internal errors are logged with the
// request's context (request id) because their text is withheld from the client.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	p := From(err, r.URL.Path)
	if p.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "status", p.Status, "error", err.Error())
	}
	if e := asError(err); e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Del("ETag")
	w.Header().Del("Location")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
