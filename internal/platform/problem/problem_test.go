package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestKindsMapToStatuses(t *testing.T) {
	for kind, want := range map[Kind]int{
		KindInternal: 500, KindInvalid: 400, KindNotFound: 404, KindMethodNotAllowed: 405, KindConflict: 409,
		KindPreconditionFailed: 412, KindPreconditionRequired: 428, KindUnprocessable: 422, KindTooLarge: 413,
		KindUnsupportedMediaType: 415, KindUnauthorized: 401, KindForbidden: 403, KindRateLimited: 429, KindUnavailable: 503,
	} {
		if got := kind.Status(); got != want {
			t.Errorf("kind %d: status %d, want %d", kind, got, want)
		}
	}
}

func TestErrorListsAreCapped(t *testing.T) {
	var fields []FieldError
	for i := range 300 {
		fields = append(fields, FieldError{Field: fmt.Sprint("query.q", i), Message: "unknown"})
	}
	p := From(Invalid("bad", fields...), "/x")
	if len(p.Errors) != MaxFieldErrors+1 || p.Errors[MaxFieldErrors].Message != "and 250 more errors" {
		t.Fatalf("%d errors, last %+v", len(p.Errors), p.Errors[len(p.Errors)-1])
	}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		detail     string
		retryAfter string
		fields     int
	}{
		{Invalid("bad", FieldError{"body.a", "x"}, FieldError{"body.b", "y"}), 400, "bad", "", 2},
		{fmt.Errorf("wrapped: %w", NotFound("tenant %s not found", "t1")), 404, "tenant t1 not found", "", 0},
		{errors.New("pq: password authentication failed for user secret"), 500, "an unexpected error occurred", "", 0},
		{&Error{Kind: KindInternal, Detail: "leaky detail"}, 500, "an unexpected error occurred", "", 0},
		{fmt.Errorf("query: %w", context.Canceled), 503, "the request was cancelled before it completed", "", 0},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "the request took too long to complete; try again shortly", "1", 0},
		{&Error{Kind: KindRateLimited, Detail: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, "slow down", "2", 0},
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("ETag", `"v1"`)
		Write(rec, httptest.NewRequest("GET", "/some/path", nil), tc.err)
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.status || p.Status != tc.status || p.Detail != tc.detail || len(p.Errors) != tc.fields ||
			p.Instance != "/some/path" || p.Type == "" || p.Title == "" {
			t.Errorf("%v: %d %+v", tc.err, rec.Code, p)
		}
		if rec.Header().Get("Content-Type") != ContentType || rec.Header().Get("ETag") != "" || rec.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%v: headers %v", tc.err, rec.Header())
		}
	}
}
