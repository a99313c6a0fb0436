package authn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name    string
		headers []string // Authorization values; nil: none
		token   string
		ok      bool
		bad     bool
	}{
		{"none", nil, "", false, false},
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", true, false},
		{"scheme lower case", []string{"bearer abc"}, "abc", true, false},
		{"scheme upper case", []string{"BEARER abc"}, "abc", true, false},
		{"several spaces", []string{"Bearer   abc"}, "abc", true, false},
		{"token68 charset and padding", []string{"Bearer aZ09-._~+/=="}, "aZ09-._~+/==", true, false},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", false, true},
		{"empty", []string{""}, "", false, true},
		{"scheme only", []string{"Bearer"}, "", false, true},
		{"scheme and space", []string{"Bearer "}, "", false, true},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", false, true},
		{"no space", []string{"Bearerabc"}, "", false, true},
		{"tab", []string{"Bearer\tabc"}, "", false, true},
		{"two tokens", []string{"Bearer a b"}, "", false, true},
		{"comma list", []string{"Bearer a, Bearer b"}, "", false, true},
		{"padding inside", []string{"Bearer a=b"}, "", false, true},
		{"only padding", []string{"Bearer =="}, "", false, true},
		{"quoted", []string{`Bearer "abc"`}, "", false, true},
		{"non-ASCII", []string{"Bearer ab\u00e9"}, "", false, true},
		{"auth-param syntax", []string{"Bearer token=abc"}, "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			tok, ok, err := BearerToken(r)
			if tc.bad {
				if err == nil || !problem.Is(err, problem.KindUnauthorized) || !errors.Is(err, errMalformedHeader) || ok || tok != "" {
					t.Fatalf("got %q %v %v; want a malformed-header 401", tok, ok, err)
				}
				return
			}
			if err != nil || ok != tc.ok || tok != tc.token {
				t.Fatalf("got %q %v %v; want %q %v", tok, ok, err, tc.token, tc.ok)
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	e := newEnv(t)
	_, verifyErr := e.v.Verify(context.Background(), "garbage")
	_, _, headerErr := BearerToken(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Authorization", "Basic x")
		return r
	}())
	cases := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"invalid token", verifyErr, 401, `Bearer error="invalid_token"`},
		{"malformed header", headerErr, 401, `Bearer error="invalid_request"`},
		{"no token", MissingToken(), 401, `Bearer`},
		{"insufficient scope", InsufficientScope("content:write"), 403, `Bearer error="insufficient_scope", scope="content:write"`},
		{"scope value is kept quotable", InsufficientScope(`a" b\`), 403, `Bearer error="insufficient_scope", scope="ab"`},
		{"unavailable", unavailable(errors.New("down"), 5e9), 503, ``},
		{"other error", errors.New("boom"), 500, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest(http.MethodGet, "/x", nil), tc.err)
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.want {
				t.Fatalf("WWW-Authenticate %q; want %q", got, tc.want)
			}
			var p problem.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if tc.name == "invalid token" && p.Detail != InvalidTokenDetail {
				t.Fatalf("detail %q", p.Detail)
			}
			if tc.name == "unavailable" && w.Header().Get("Retry-After") != "5" {
				t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
			}
		})
	}
}
