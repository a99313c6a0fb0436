package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// testSpec has an operation of every kind the middleware tells apart.
const testSpec = `
openapi: 3.0.3
info: {title: authz test, version: "1"}
security:
  - bearer: []
paths:
  /open:
    post:
      security: []
      responses: {"200": {description: ok}}
  /optional:
    get:
      security: [{}, {bearer: [things:read]}]
      responses: {"200": {description: ok}}
  /me:
    get:
      responses: {"200": {description: ok}}
  /things:
    get:
      security: [{bearer: [things:read]}]
      responses: {"200": {description: ok}}
    post:
      security: [{bearer: [things:write, things:read]}]
      responses: {"200": {description: ok}}
  /either:
    get:
      security: [{bearer: [things:read]}, {bearer: [admin:all]}]
      responses: {"200": {description: ok}}
  /tenants/{tenant_id}/things:
    parameters: [{$ref: '#/components/parameters/TenantID'}]
    get:
      security: [{bearer: [things:read]}]
      responses: {"200": {description: ok}}
    post:
      security: [{bearer: [things:write]}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
  /tenants/{tenant_id}/profile:
    parameters: [{$ref: '#/components/parameters/TenantID'}]
    get:
      security: [{bearer: []}]
      responses: {"200": {description: ok}}
  /tenants/{tenant_id}/sites/{site_id}/content:
    parameters: [{$ref: '#/components/parameters/TenantID'}, {$ref: '#/components/parameters/SiteID'}]
    put:
      security: [{bearer: [content:write]}]
      responses: {"200": {description: ok}}
  /sites/{site_id}:
    parameters: [{$ref: '#/components/parameters/SiteID'}]
    get:
      security: [{bearer: [sites:read]}]
      responses: {"200": {description: ok}}
  /assignments:
    put:
      security: [{bearer: [sites:read]}]
      parameters:
        - {name: site_id, in: query, schema: {type: string, format: uuid}}
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    bearer:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /token
          scopes:
            things:read: r
            things:write: w
            admin:all: a
            sites:read: r
            content:write: w
  parameters:
    TenantID: {name: tenant_id, in: path, required: true, schema: {type: string, format: uuid}}
    SiteID: {name: site_id, in: path, required: true, schema: {type: string, format: uuid}}
`

var (
	tenantA  = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-00000000000a")
	tenantB  = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-00000000000b")
	platform = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-00000000000f")
	site1    = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-0000000000a1")
	site2    = uuid.MustParse("0191e4d2-7c1a-7def-8a2b-0000000000a2")
)

func claims(tenant uuid.UUID, sub string, scopes []string, sites map[uuid.UUID][]string) authn.Claims {
	return authn.Claims{TenantID: tenant, Subject: sub, SubjectType: authn.SubTypeClient, ClientID: sub, Scopes: scopes, SiteScopes: sites}
}

// tokens are what the fake verifier accepts.
var tokens = map[string]authn.Claims{
	"a-reader":    claims(tenantA, "a-reader", []string{"things:read"}, nil),
	"a-writer":    claims(tenantA, "a-writer", []string{"things:read", "things:write"}, nil),
	"a-writeonly": claims(tenantA, "a-writeonly", []string{"things:write"}, nil),
	"a-none":      claims(tenantA, "a-none", nil, nil),
	"a-admin-alt": claims(tenantA, "a-admin-alt", []string{"admin:all"}, nil),
	"a-site": claims(tenantA, "a-site", nil, map[uuid.UUID][]string{
		site1: {"content:write", "sites:read", "things:read"},
	}),
	"b-reader": claims(tenantB, "b-reader", []string{"things:read", "things:write"}, nil),
	"p-admin":  claims(platform, "p-admin", []string{"things:read", "content:write", "tenants:write"}, nil),
	// A member of the platform tenant with the operations' permissions but
	// no platform-level one: an ordinary member of that tenant.
	"p-member": claims(platform, "p-member", []string{"things:read", "content:write"}, nil),
	"p-plain":  claims(platform, "p-plain", nil, nil),
	// tenants:write alone, or only on a site, or claimed in another tenant,
	// and service-only permissions claimed by a token: none of them makes
	// a platform administrator.
	"p-twonly": claims(platform, "p-twonly", []string{"tenants:write"}, nil),
	// tenants:access with a read permission: a read-only operator.
	"p-support":  claims(platform, "p-support", []string{"tenants:access", "things:read"}, nil),
	"p-sitetw":   claims(platform, "p-sitetw", []string{"things:read"}, map[uuid.UUID][]string{site1: {"tenants:write"}}),
	"b-tw":       claims(tenantB, "b-tw", []string{"things:read", "tenants:write"}, nil),
	"p-svconly":  claims(platform, "p-svconly", []string{"things:read", "tokens:sign", "credentials:verify"}, nil),
	"svc-reader": {TenantID: platform, Subject: "service:content", SubjectType: authn.SubTypeService, Scopes: []string{"things:read"}},
	"p-siteonly": claims(platform, "p-siteonly", nil, map[uuid.UUID][]string{site1: {"things:read"}}),
}

// fakeVerifier answers from tokens; "down" is a verifier without keys, and
// everything else is refused.
type fakeVerifier struct{ calls atomic.Int64 }

func (f *fakeVerifier) Verify(_ context.Context, token string) (authn.Claims, error) {
	f.calls.Add(1)
	if token == "down" {
		return authn.Claims{}, &problem.Error{Kind: problem.KindUnavailable, Detail: "keys unavailable", RetryAfter: 5 * time.Second}
	}
	if c, ok := tokens[token]; ok {
		return c, nil
	}
	return authn.Claims{}, &problem.Error{Kind: problem.KindUnauthorized, Detail: authn.InvalidTokenDetail}
}

func loadSpec(t testing.TB, spec string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// whoami answers with the principal the handler sees.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := authn.FromContext(r.Context())
	_ = json.NewEncoder(w).Encode(map[string]any{
		"authenticated": ok, "subject": p.Subject, "tenant": p.TenantID.String(), "admin": PlatformAdmin(r.Context()),
	})
}

// server mounts testSpec at /t/v1 with the Authorizer over v.
func server(t testing.TB, v Verifier) http.Handler {
	t.Helper()
	doc := loadSpec(t, testSpec)
	a, err := New(doc, Options{Verifier: v, PlatformTenantID: platform})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.Root([]httpapi.API{{
		Name: "t", Prefix: "/t/v1", Spec: doc, Handler: http.HandlerFunc(whoami), Authorize: a.Authorize,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target, body string, authorization ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const (
	challengeNone  = "Bearer"
	challengeReq   = `Bearer error="invalid_request"`
	challengeToken = `Bearer error="invalid_token"`
)

func challengeScope(s string) string { return `Bearer error="insufficient_scope", scope="` + s + `"` }

func TestEnforcement(t *testing.T) {
	A, B, P := tenantA.String(), tenantB.String(), platform.String()
	S1, S2 := site1.String(), site2.String()
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		body      string
		auth      []string // Authorization header lines
		status    int
		challenge string // the WWW-Authenticate wanted; "" none
		subject   string // for a 200, the principal the handler saw ("" none)
		admin     bool
	}{
		// Authentication.
		{name: "no token", method: "GET", path: "/things", status: 401, challenge: challengeNone},
		{name: "no token, HEAD", method: "HEAD", path: "/things", status: 401, challenge: challengeNone},
		{name: "no token, any-token operation", method: "GET", path: "/me", status: 401, challenge: challengeNone},
		{name: "basic scheme", method: "GET", path: "/things", auth: []string{"Basic YTpi"}, status: 401, challenge: challengeReq},
		{name: "bearer without token", method: "GET", path: "/things", auth: []string{"Bearer "}, status: 401, challenge: challengeReq},
		{name: "not token68", method: "GET", path: "/things", auth: []string{"Bearer a b"}, status: 401, challenge: challengeReq},
		{name: "two headers", method: "GET", path: "/things", auth: []string{"Bearer a-reader", "Bearer a-reader"}, status: 401, challenge: challengeReq},
		{name: "invalid token", method: "GET", path: "/things", auth: []string{"Bearer forged"}, status: 401, challenge: challengeToken},
		{name: "verifier unavailable", method: "GET", path: "/things", auth: []string{"Bearer down"}, status: 503},
		{name: "scheme in any case", method: "GET", path: "/things", auth: []string{"bEARER a-reader"}, status: 200, subject: "a-reader"},

		// Any valid token.
		{name: "any token", method: "GET", path: "/me", auth: []string{"Bearer a-none"}, status: 200, subject: "a-none"},

		// Permissions.
		{name: "permission held", method: "GET", path: "/things", auth: []string{"Bearer a-reader"}, status: 200, subject: "a-reader"},
		{name: "permission missing", method: "GET", path: "/things", auth: []string{"Bearer a-none"}, status: 403, challenge: challengeScope("things:read")},
		{name: "all scopes of the requirement held", method: "POST", path: "/things", auth: []string{"Bearer a-writer"}, status: 200, subject: "a-writer"},
		{name: "one scope of the requirement missing", method: "POST", path: "/things", auth: []string{"Bearer a-writeonly"}, status: 403, challenge: challengeScope("things:read")},
		{name: "first alternative", method: "GET", path: "/either", auth: []string{"Bearer a-reader"}, status: 200, subject: "a-reader"},
		{name: "second alternative", method: "GET", path: "/either", auth: []string{"Bearer a-admin-alt"}, status: 200, subject: "a-admin-alt"},
		{name: "no alternative", method: "GET", path: "/either", auth: []string{"Bearer a-writeonly"}, status: 403, challenge: challengeScope("things:read")},

		// Tenant of the path.
		{name: "own tenant", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer a-reader"}, status: 200, subject: "a-reader"},
		{name: "own tenant in upper case", method: "GET", path: "/tenants/" + strings.ToUpper(A) + "/things", auth: []string{"Bearer a-reader"}, status: 200, subject: "a-reader"},
		{name: "other tenant", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer b-reader"}, status: 404},
		{name: "other tenant, without the permission too", method: "GET", path: "/tenants/" + B + "/things", auth: []string{"Bearer a-none"}, status: 404},
		{name: "own tenant without the permission", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer a-none"}, status: 403, challenge: challengeScope("things:read")},
		{name: "other tenant, any-token operation", method: "GET", path: "/tenants/" + B + "/profile", auth: []string{"Bearer a-none"}, status: 404},
		{name: "own tenant, any-token operation", method: "GET", path: "/tenants/" + A + "/profile", auth: []string{"Bearer a-none"}, status: 200, subject: "a-none"},
		{name: "malformed tenant id is validation's", method: "GET", path: "/tenants/not-a-uuid/things", auth: []string{"Bearer b-reader"}, status: 400},
		{name: "other tenant before validation", method: "POST", path: "/tenants/" + A + "/things", body: `{}`, auth: []string{"Bearer b-reader"}, status: 404},
		{name: "no token before validation", method: "POST", path: "/tenants/" + A + "/things", body: `{}`, status: 401, challenge: challengeNone},
		{name: "validation once admitted", method: "POST", path: "/tenants/" + A + "/things", body: `{}`, auth: []string{"Bearer a-writer"}, status: 400},

		// Platform administrators.
		{name: "platform admin across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-admin"}, status: 200, subject: "p-admin", admin: true},
		{name: "platform admin across tenants, site route", method: "PUT", path: "/tenants/" + B + "/sites/" + S2 + "/content", auth: []string{"Bearer p-admin"}, status: 200, subject: "p-admin", admin: true},
		{name: "platform admin on a route of no tenant", method: "GET", path: "/things", auth: []string{"Bearer p-admin"}, status: 200, subject: "p-admin", admin: true},
		{name: "platform member without platform scopes across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-member"}, status: 404},
		{name: "platform member without platform scopes, site route", method: "PUT", path: "/tenants/" + B + "/sites/" + S2 + "/content", auth: []string{"Bearer p-member"}, status: 404},
		{name: "platform member without platform scopes in its tenant", method: "GET", path: "/tenants/" + P + "/things", auth: []string{"Bearer p-member"}, status: 200, subject: "p-member"},
		{name: "platform member without platform scopes on a route of no tenant is no admin", method: "GET", path: "/things", auth: []string{"Bearer p-member"}, status: 200, subject: "p-member"},
		{name: "tenants:write without the operation's permission across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-twonly"}, status: 404},
		{name: "tenants:write without the operation's permission at home", method: "GET", path: "/tenants/" + P + "/things", auth: []string{"Bearer p-twonly"}, status: 403, challenge: challengeScope("things:read")},
		{name: "tenants:write on a site only across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-sitetw"}, status: 404},
		{name: "tenants:write in another tenant than the platform's", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer b-tw"}, status: 404},
		{name: "service-only permissions claimed by a token", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-svconly"}, status: 404},
		{name: "tenants:access with the permission across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-support"}, status: 200, subject: "p-support", admin: true},
		{name: "tenants:access without the permission across tenants", method: "PUT", path: "/tenants/" + B + "/sites/" + S2 + "/content", auth: []string{"Bearer p-support"}, status: 404},
		{name: "a service across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer svc-reader"}, status: 200, subject: "service:content", admin: true},
		{name: "platform principal without the permission across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-plain"}, status: 404},
		{name: "platform principal with the permission on a site only across tenants", method: "GET", path: "/tenants/" + A + "/things", auth: []string{"Bearer p-siteonly"}, status: 404},
		{name: "platform principal without the permission in its tenant", method: "GET", path: "/tenants/" + P + "/things", auth: []string{"Bearer p-plain"}, status: 403, challenge: challengeScope("things:read")},
		{name: "platform principal, any-token operation across tenants", method: "GET", path: "/tenants/" + A + "/profile", auth: []string{"Bearer p-plain"}, status: 404},
		{name: "platform admin, any-token operation across tenants", method: "GET", path: "/tenants/" + A + "/profile", auth: []string{"Bearer p-admin"}, status: 404},
		{name: "platform principal in its tenant is no admin", method: "GET", path: "/me", auth: []string{"Bearer p-plain"}, status: 200, subject: "p-plain"},

		// Site-scoped permissions.
		{name: "site permission on its site", method: "PUT", path: "/tenants/" + A + "/sites/" + S1 + "/content", auth: []string{"Bearer a-site"}, status: 200, subject: "a-site"},
		{name: "site permission on another site", method: "PUT", path: "/tenants/" + A + "/sites/" + S2 + "/content", auth: []string{"Bearer a-site"}, status: 403, challenge: challengeScope("content:write")},
		{name: "site permission, site route without tenant", method: "GET", path: "/sites/" + S1, auth: []string{"Bearer a-site"}, status: 200, subject: "a-site"},
		{name: "site permission, site route without tenant, other site", method: "GET", path: "/sites/" + S2, auth: []string{"Bearer a-site"}, status: 403, challenge: challengeScope("sites:read")},
		{name: "site permission on a tenant-wide operation", method: "GET", path: "/things", auth: []string{"Bearer a-site"}, status: 403, challenge: challengeScope("things:read")},
		{name: "site permission, site_id in the query scopes nothing", method: "PUT", path: "/assignments?site_id=" + S1, auth: []string{"Bearer a-site"}, status: 403, challenge: challengeScope("sites:read")},
		{name: "site permission, other tenant's path", method: "PUT", path: "/tenants/" + B + "/sites/" + S1 + "/content", auth: []string{"Bearer a-site"}, status: 404},

		// Open operations ignore the Authorization header.
		{name: "open, no token", method: "POST", path: "/open", status: 200},
		{name: "open, invalid token", method: "POST", path: "/open", auth: []string{"Bearer forged"}, status: 200},
		{name: "open, valid token unused", method: "POST", path: "/open", auth: []string{"Bearer a-reader"}, status: 200},
		{name: "open, unavailable verifier", method: "POST", path: "/open", auth: []string{"Bearer down"}, status: 200},
		{name: "open, malformed header", method: "POST", path: "/open", auth: []string{"Bearer a b \x01"}, status: 200},
		{name: "open, basic credentials", method: "POST", path: "/open", auth: []string{"Basic YTpi", "Bearer x"}, status: 200},
		{name: "optional is open", method: "GET", path: "/optional", auth: []string{"Bearer forged"}, status: 200},

		// Not routed: nothing to authorize.
		{name: "unknown path", method: "GET", path: "/nowhere", status: 404},
		{name: "unknown method", method: "DELETE", path: "/things", status: 405},
		{name: "the spec", method: "GET", path: "/openapi.json", status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &fakeVerifier{}
			h := server(t, v)
			rec := do(h, tc.method, "/t/v1"+tc.path, tc.body, tc.auth...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if strings.HasPrefix(tc.path, "/open") || strings.HasPrefix(tc.path, "/optional") {
				if n := v.calls.Load(); n != 0 {
					t.Errorf("an open operation verified %d tokens", n)
				}
			}
			if tc.status >= 400 {
				checkProblem(t, rec, tc.method, tc.status)
				if tc.status == 503 && rec.Header().Get("Retry-After") != "5" {
					t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
				}
				return
			}
			if tc.path == "/openapi.json" || tc.method == "HEAD" {
				return
			}
			var got struct {
				Authenticated bool
				Subject       string
				Admin         bool
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			if got.Authenticated != (tc.subject != "") || got.Subject != tc.subject || got.Admin != tc.admin {
				t.Errorf("the handler saw %+v, want subject %q admin %v", got, tc.subject, tc.admin)
			}
		})
	}
}

// checkProblem holds an error answer to problem+json of its status.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, method string, status int) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	if method == "HEAD" {
		return
	}
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if p.Status != status || !strings.HasPrefix(p.Type, problem.TypeBase) || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Errorf("problem %+v", p)
	}
	if status == 401 || status == 403 || status == 404 {
		// Nothing of the token or the caller.
		for _, leak := range []string{"a-reader", "b-reader", "a-none", "p-plain", "forged", "down"} {
			if strings.Contains(p.Detail, leak) {
				t.Errorf("the detail %q reveals %q", p.Detail, leak)
			}
		}
	}
}

// The access log names the caller once the token is verified, whether it
// is then let through or not.
func TestTheAccessLogNamesThePrincipal(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(prev)

	h := server(t, &fakeVerifier{})
	for _, tc := range []struct {
		path, auth, principal string
		status                int
	}{
		{"/things", "Bearer a-reader", "a-reader", 200},
		{"/tenants/" + tenantA.String() + "/things", "Bearer b-reader", "b-reader", 404},
		{"/things", "Bearer a-none", "a-none", 403},
		{"/things", "Bearer forged", "", 401},
	} {
		buf.Reset()
		if rec := do(h, "GET", "/t/v1"+tc.path, "", tc.auth); rec.Code != tc.status {
			t.Fatalf("%s: %d", tc.path, rec.Code)
		}
		var line map[string]any
		for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				line = m
			}
		}
		if line == nil || line["principal"] != tc.principal || line["status"] != float64(tc.status) {
			t.Errorf("%s with %s: access log %v, want principal %q", tc.path, tc.auth, line, tc.principal)
		}
	}
}

func TestAnAuthorizerOfAnotherDocumentRefusesEverything(t *testing.T) {
	a, err := New(loadSpec(t, testSpec), Options{Verifier: &fakeVerifier{}})
	if err != nil {
		t.Fatal(err)
	}
	doc := loadSpec(t, testSpec) // the same text, other operations
	h, err := httpapi.Root([]httpapi.API{{Name: "t", Prefix: "/t/v1", Spec: doc, Handler: http.HandlerFunc(whoami), Authorize: a.Authorize}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	for _, path := range []string{"/open", "/things"} {
		if rec := do(h, "POST", "/t/v1"+path, "", "Bearer a-writer"); rec.Code != 500 {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestMayActIn(t *testing.T) {
	doc := loadSpec(t, testSpec)
	a, err := New(doc, Options{Verifier: &fakeVerifier{}, PlatformTenantID: platform})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]bool
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = map[string]bool{"A": MayActIn(r.Context(), tenantA), "B": MayActIn(r.Context(), tenantB)}
	})
	root, err := httpapi.Root([]httpapi.API{{Name: "t", Prefix: "/t/v1", Spec: doc, Handler: probe, Authorize: a.Authorize}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, auth string
		a, b               bool
	}{
		{"GET", "/sites/" + site1.String(), "Bearer a-site", true, false},
		{"GET", "/things", "Bearer p-admin", true, true},
		{"GET", "/things", "Bearer p-member", false, false},
		{"GET", "/things", "Bearer svc-reader", true, true},
		{"GET", "/me", "Bearer p-plain", false, false},
		{"POST", "/open", "", false, false},
	} {
		got = nil
		if rec := do(root, tc.method, "/t/v1"+tc.path, "", tc.auth); rec.Code != 200 {
			t.Fatalf("%s: %d %s", tc.path, rec.Code, rec.Body)
		}
		if got["A"] != tc.a || got["B"] != tc.b {
			t.Errorf("%s %s: MayActIn %v", tc.path, tc.auth, got)
		}
	}
}

func TestRequirementsAreResolved(t *testing.T) {
	ops, err := Operations(loadSpec(t, testSpec))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Operation{}
	for _, o := range ops {
		got[o.Method+" "+o.Path] = o
	}
	for key, want := range map[string]Operation{
		"POST /open":           {Open: true},
		"GET /optional":        {Open: true},
		"GET /me":              {Alternatives: [][]string{{}}},
		"POST /things":         {Alternatives: [][]string{{"things:write", "things:read"}}},
		"GET /either":          {Alternatives: [][]string{{"things:read"}, {"admin:all"}}},
		"GET /sites/{site_id}": {Alternatives: [][]string{{"sites:read"}}, SiteScoped: true},
		"PUT /tenants/{tenant_id}/sites/{site_id}/content": {Alternatives: [][]string{{"content:write"}}, TenantScoped: true, SiteScoped: true},
		"PUT /assignments": {Alternatives: [][]string{{"sites:read"}}},
	} {
		o, ok := got[key]
		if !ok {
			t.Errorf("%s missing", key)
			continue
		}
		gotAlts, _ := json.Marshal(o.Alternatives)
		wantAlts, _ := json.Marshal(want.Alternatives)
		if o.Open != want.Open || string(gotAlts) != string(wantAlts) || o.TenantScoped != want.TenantScoped || o.SiteScoped != want.SiteScoped {
			t.Errorf("%s: %+v, want %+v", key, o, want)
		}
	}
	if len(ops) != 12 {
		t.Errorf("%d operations", len(ops))
	}
}

// Specs the middleware cannot enforce are refused when it is built, not
// discovered at request time.
func TestUnenforceableSpecsAreRefused(t *testing.T) {
	const head = "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\n"
	const schemes = `
components:
  securitySchemes:
    bearer: {type: oauth2, flows: {clientCredentials: {tokenUrl: /token, scopes: {a:read: r}}}}
    key: {type: apiKey, in: header, name: X-Key}
    jwt: {type: http, scheme: bearer}
`
	op := func(security string) string {
		return head + "paths:\n  /x:\n    get:\n" + security + "      responses: {\"200\": {description: ok}}\n" + schemes
	}
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"no requirement at all", op(""), "no security requirement"},
		{"undeclared scheme", op("      security: [{other: []}]\n"), `"other" is not declared`},
		{"undeclared scope", op("      security: [{bearer: [a:write]}]\n"), `scope "a:write" is not declared`},
		{"api key scheme", op("      security: [{key: []}]\n"), "does not carry access tokens"},
		{"api key beside bearer", op("      security: [{bearer: [a:read], key: []}]\n"), "does not carry access tokens"},
		{"scope with a quote", op("      security: [{jwt: ['a\"b']}]\n"), "not an RFC 6749 scope token"},
		{"tenant_id not a uuid", head + `paths:
  /t/{tenant_id}:
    get:
      security: [{bearer: [a:read]}]
      parameters: [{name: tenant_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
` + schemes, "tenant_id path parameter must be a string of format uuid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(loadSpec(t, tc.spec), Options{Verifier: &fakeVerifier{}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "GET /") {
				t.Fatalf("err %v, want one naming the operation and %q", err, tc.want)
			}
		})
	}
	// The same document with a global requirement, and with http bearer scopes, is fine.
	for _, spec := range []string{
		head + "security: [{bearer: [a:read]}]\n" + op("")[len(head):],
		op("      security: [{jwt: [any:thing]}]\n"),
	} {
		if _, err := New(loadSpec(t, spec), Options{Verifier: &fakeVerifier{}}); err != nil {
			t.Errorf("%v", err)
		}
	}
	if _, err := New(loadSpec(t, testSpec), Options{}); err == nil {
		t.Error("no verifier accepted")
	}
}
