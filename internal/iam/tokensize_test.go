package iam_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
)

// onSites creates n sites of the tenant and gives the user role on each.
func (e *env) onSites(tenant, user, role uuid.UUID, n int) {
	e.t.Helper()
	for range n {
		site := e.site(tenant)
		e.assign(tenant, user, role, &site)
	}
}

// Every service refuses an access token over authn.MaxTokenSize unread, so
// IAM must not mint one: a sign-in that would need one is refused with a
// problem naming the cause (422), and so is a refresh (the refresh token
// stays usable: nothing was spent), while the refresh_token grant answers
// invalid_scope, because asking for fewer permissions is the way out.
func TestOversizedAccessTokensAreRefused(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	big := e.user(tenant, "big@example.com")
	e.onSites(tenant, big, editorRole, 70) // ~125 bytes of site_scope per site
	r := e.login(&tenant, "big@example.com", goodPassword)
	if r.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "8192") {
		if r.JSON200 != nil {
			t.Fatalf("signed in with a %d-byte access token", len(r.JSON200.AccessToken))
		}
		t.Fatalf("login: %d %s", r.StatusCode(), r.Body)
	}

	// A session that began small and grew past the limit.
	grown := e.user(tenant, "grown@example.com", viewerRole)
	tok := e.signIn(tenant, "grown@example.com")
	e.onSites(tenant, grown, editorRole, 70)
	if r := e.refresh(tok.RefreshToken); r.StatusCode() != http.StatusUnprocessableEntity {
		t.Fatalf("refresh: %d %s", r.StatusCode(), r.Body)
	}
	resp, body := e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, nil)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_scope" ||
		!strings.Contains(body["error_description"].(string), "scope") {
		t.Fatalf("refresh grant: %d %v", resp.StatusCode, body)
	}
	// The refusals spent nothing; narrowed, the token fits.
	resp, body = e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"scope": {"users:read"}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("narrowed refresh grant: %d %v", resp.StatusCode, body)
	}
	if n := len(body["access_token"].(string)); n > authn.MaxTokenSize {
		t.Errorf("a %d-byte access token", n)
	}
}
