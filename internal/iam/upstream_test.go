package iam

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// An unexpected answer is logged by its status and media type only: the
// body may hold a credential (a token, a secret) that logs must not keep.
func TestUnexpectedAnswersAreLoggedWithoutTheirBody(t *testing.T) {
	var log bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))

	resp := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}}}
	resp.Body = io.NopCloser(strings.NewReader(`{"token":"eyJsecret"}`))
	err := unexpected(context.Background(), "config-vault", "signing a token", resp)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v", err)
	}
	if out := log.String(); strings.Contains(out, "secret") || !strings.Contains(out, "status=403") ||
		!strings.Contains(out, "content_type=application/json") {
		t.Errorf("logged %s", out)
	}
}

// The callee's 503 is passed on with the callee's Retry-After when it gives
// one in seconds.
func TestUnexpectedPassesOnTheCalleesRetryAfter(t *testing.T) {
	for header, want := range map[string]time.Duration{"7": 7 * time.Second, "": 0, "soon": 0, "-3": 0} {
		resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}}
		if header != "" {
			resp.Header.Set("Retry-After", header)
		}
		err := unexpected(context.Background(), "uam", "checking credentials", resp)
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Kind != problem.KindUnavailable || strings.Contains(err.Error(), "secret") {
			t.Fatalf("Retry-After %q: %v", header, err)
		}
		if want != 0 && pe.RetryAfter != want || want == 0 && pe.RetryAfter <= 0 {
			t.Errorf("Retry-After %q: %v", header, pe.RetryAfter)
		}
	}
}
