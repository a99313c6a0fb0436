package configvault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	api "github.com/saasplatform/saas/gen/api/configvault"
	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

// env is one service instance over a fresh database, with authentication
// and authorization on as the platform mounts it, reached through the
// generated client whose every response is validated against the spec.
type env struct {
	t         *testing.T
	c         *client.ClientWithResponses // as env's caller (see newEnv and as)
	http      *http.Client                // the same, for requests c cannot make
	base      string                      // server URL, without the prefix
	pool      *pgxpool.Pool
	masterKey keycrypto.MasterKey
	keyring   *keycrypto.Keyring
	svc       *configvault.Service
	issuer    *authtest.Issuer  // signs the tokens the service accepts
	contract  http.RoundTripper // validates every response against the spec
}

// newEnv's caller is the one that sets tests up: a platform administrator,
// and for the internal operations, which are the IAM service's alone, the
// IAM service with its own credential. Tests about one tenant act as that
// tenant's administrator (as), and the access tests as anyone.
func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	pool := dbtest.New(t, idempotency.Migrations, configvault.Migrations)
	mk := newMasterKey(t)
	kr, err := keycrypto.NewKeyring(mk)
	if err != nil {
		t.Fatal(err)
	}
	svc := configvault.NewService(pool, kr, nil)
	issuer := authtest.New(t)
	protected := issuer.Protect(t, configvault.NewAPI(svc, idempotency.New(pool, callerOf, idempotency.Options{})))
	root, err := httpapi.Root([]httpapi.API{protected}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, base: srv.URL, pool: pool, masterKey: mk, keyring: kr, svc: svc, issuer: issuer,
		contract: contract.NewTransport(t, spec, configvault.Prefix)}
	e.authenticate(byPath{
		internal: issuer.Transport(t, "iam", "config-vault", e.contract),
		other:    bearer{token: issuer.Token(t, platformAdmin), next: e.contract},
	})
	return e
}

// authenticate makes every request of e go through rt.
func (e *env) authenticate(rt http.RoundTripper) {
	e.t.Helper()
	e.http = &http.Client{Transport: rt}
	c, err := client.NewClientWithResponses(e.base+configvault.Prefix, client.WithHTTPClient(e.http))
	if err != nil {
		e.t.Fatal(err)
	}
	e.c = c
}

// withToken is e acting with token (none when empty) on the same service.
func (e *env) withToken(token string) *env {
	caller := *e
	caller.authenticate(bearer{token: token, next: e.contract})
	return &caller
}

// as is e acting with an access token for g.
func (e *env) as(g authtest.Grant) *env { return e.withToken(e.issuer.Token(e.t, g)) }

// anonymous is e sending no credentials.
func (e *env) anonymous() *env { return e.withToken("") }

// everyPermission is every permission of the spec that an access token can
// carry: tokens:sign belongs to the IAM service's credential alone.
var everyPermission = func() []string {
	spec, err := api.GetSwagger()
	if err != nil {
		panic(err)
	}
	var perms []string
	for p := range spec.Components.SecuritySchemes["bearer"].Value.Flows.ClientCredentials.Scopes {
		if !authn.IsServiceOnly(p) {
			perms = append(perms, p)
		}
	}
	slices.Sort(perms)
	return perms
}()

// platformAdmin is a platform administrator: every permission, tenant-wide,
// in the platform tenant.
var platformAdmin = authtest.Grant{Tenant: authtest.PlatformTenantID, Scopes: everyPermission}

// tenantAdmin is an administrator of tenant: every permission, within it.
func tenantAdmin(tenant uuid.UUID) authtest.Grant {
	return authtest.Grant{Tenant: tenant, Scopes: everyPermission}
}

// bearer sends token with every request that has no Authorization of its own.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token == "" || r.Header.Get("Authorization") != "" {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change the request
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// byPath sends the internal operations through one RoundTripper and
// everything else through another.
type byPath struct{ internal, other http.RoundTripper }

func (b byPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, configvault.Prefix+"/internal/") {
		return b.internal.RoundTrip(r)
	}
	return b.other.RoundTrip(r)
}

// callerOf keeps the Idempotency-Keys of different principals apart, as the
// platform must: a replay answers with the first caller's resource.
func callerOf(r *http.Request) string {
	p, _ := authn.FromContext(r.Context())
	return p.TenantID.String() + " " + p.Subject
}

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

func uniqueDomain(prefix string) string {
	return fmt.Sprintf("%s-%s.example.com", prefix, strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
}

func (e *env) tenant(name string) client.Tenant {
	e.t.Helper()
	r, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: name, Domain: uniqueDomain(name)})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create tenant: %v %d %s", err, r.StatusCode(), r.Body)
	}
	return *r.JSON201
}

func (e *env) site(tenant uuid.UUID, name string) client.Site {
	e.t.Helper()
	r, err := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: tenant, Name: name, Domain: uniqueDomain(name)})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create site: %v %d %s", err, r.StatusCode(), r.Body)
	}
	return *r.JSON201
}

func (e *env) key(body client.SigningKeyCreate) client.SigningKey {
	e.t.Helper()
	r, err := e.c.CreateKeyWithResponse(ctx, nil, body)
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create key: %v %d %s", err, r.StatusCode(), r.Body)
	}
	return *r.JSON201
}

// raw sends a request the typed client would refuse to build.
func (e *env) raw(method, path, contentType, body string, header ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp, doc
}

// fields lists the `field` of each entry of a problem's errors.
func fields(doc map[string]any) []string {
	var out []string
	list, _ := doc["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, fmt.Sprint(m["field"]))
	}
	return out
}

func status(t *testing.T, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
}

func TestTenantLifecycle(t *testing.T) {
	e := newEnv(t)
	created, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "  Acme  ", Domain: "WWW.Acme-Corp.Example."})
	if err != nil {
		t.Fatal(err)
	}
	status(t, created.StatusCode(), 201, created.Body)
	ten := created.JSON201
	if ten.Name != "Acme" || ten.Domain != "www.acme-corp.example" || !ten.IsActive {
		t.Fatalf("not normalised: %+v", ten)
	}
	if loc := created.HTTPResponse.Header.Get("Location"); loc != configvault.Prefix+"/tenants/"+ten.Id.String() {
		t.Fatalf("Location %q", loc)
	}
	if ten.Id.Version() != 7 {
		t.Fatalf("id %s is not a UUIDv7", ten.Id)
	}

	got, _ := e.c.GetTenantWithResponse(ctx, ten.Id)
	status(t, got.StatusCode(), 200, got.Body)
	etag := got.HTTPResponse.Header.Get("ETag")
	if etag != created.HTTPResponse.Header.Get("ETag") || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q", etag)
	}

	upd, _ := e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: &etag}, client.TenantUpdate{Name: ptr("Acme Inc")})
	status(t, upd.StatusCode(), 200, upd.Body)
	if upd.JSON200.Name != "Acme Inc" || upd.JSON200.Domain != ten.Domain {
		t.Fatalf("update changed the wrong fields: %+v", upd.JSON200)
	}
	newTag := upd.HTTPResponse.Header.Get("ETag")
	if newTag == etag {
		t.Fatal("ETag did not change with the update")
	}

	// The old ETag is stale now: both update and delete are refused and nothing changes.
	stale, _ := e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: &etag}, client.TenantUpdate{Name: ptr("Lost update")})
	status(t, stale.StatusCode(), 412, stale.Body)
	staleDel, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, &client.DeleteTenantParams{IfMatch: &etag})
	status(t, staleDel.StatusCode(), 412, staleDel.Body)
	weak := "W/" + newTag
	weakDel, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, &client.DeleteTenantParams{IfMatch: &weak})
	status(t, weakDel.StatusCode(), 412, weakDel.Body)
	again, _ := e.c.GetTenantWithResponse(ctx, ten.Id)
	if again.JSON200.Name != "Acme Inc" {
		t.Fatalf("a refused change was applied: %+v", again.JSON200)
	}

	del, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, &client.DeleteTenantParams{IfMatch: &newTag})
	status(t, del.StatusCode(), 204, del.Body)
	gone, _ := e.c.GetTenantWithResponse(ctx, ten.Id)
	status(t, gone.StatusCode(), 404, gone.Body)
	del2, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, nil)
	status(t, del2.StatusCode(), 404, del2.Body)
}

func TestInvalidInputIsRefusedWithTheField(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("valid")
	tenants := configvault.Prefix + "/tenants"
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		field                           string
	}{
		{"missing name", "POST", tenants, "application/json", `{"domain":"a.example"}`, 400, "body.name"},
		{"wrong type", "POST", tenants, "application/json", `{"name":1,"domain":"a.example"}`, 400, "body.name"},
		{"unknown field", "POST", tenants, "application/json", `{"name":"a","domain":"a.example","nam":1}`, 400, "body.nam"},
		{"blank name", "POST", tenants, "application/json", `{"name":"   ","domain":"a.example"}`, 400, "body.name"},
		{"control char", "POST", tenants, "application/json", `{"name":"a\u0007b","domain":"a.example"}`, 400, "body.name"},
		{"bad hostname", "POST", tenants, "application/json", `{"name":"a","domain":"-bad-.example"}`, 400, "body.domain"},
		{"hostname with space", "POST", tenants, "application/json", `{"name":"a","domain":"a b.example"}`, 400, "body.domain"},
		{"IP address", "POST", tenants, "application/json", `{"name":"a","domain":"10.0.0.1"}`, 400, "body.domain"},
		{"label too long", "POST", tenants, "application/json", `{"name":"a","domain":"` + strings.Repeat("a", 64) + `.example"}`, 400, "body.domain"},
		{"malformed JSON", "POST", tenants, "application/json", `{"name":`, 400, "body"},
		{"empty body", "POST", tenants, "application/json", ``, 400, "body"},
		{"not JSON", "POST", tenants, "text/plain", `name=a`, 415, ""},
		{"explicit null", "PUT", tenants + "/" + ten.Id.String(), "application/json", `{"name":null}`, 400, "body.name"},
		{"empty update", "PUT", tenants + "/" + ten.Id.String(), "application/json", `{}`, 400, "body"},
		{"bad uuid", "GET", tenants + "/not-a-uuid", "", "", 400, "path.tenant_id"},
		{"uuid too short", "GET", tenants + "/0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6", "", "", 400, "path.tenant_id"},
		{"limit zero", "GET", tenants + "?limit=0", "", "", 400, "query.limit"},
		{"limit too big", "GET", tenants + "?limit=501", "", "", 400, "query.limit"},
		{"limit not a number", "GET", tenants + "?limit=ten", "", "", 400, "query.limit"},
		{"forged cursor", "GET", tenants + "?cursor=AAAA", "", "", 400, "query.cursor"},
		{"bad filter", "GET", tenants + "?is_active=maybe", "", "", 400, "query.is_active"},
		{"misspelt filter", "GET", tenants + "?is_activ=true", "", "", 400, "query.is_activ"},
		{"query on a create", "POST", tenants + "?name=x", "application/json", `{"name":"a","domain":"q.example"}`, 400, "query.name"},
		{"expires too long", "POST", configvault.Prefix + "/keys", "application/json", `{"tenant_id":"` + ten.Id.String() + `","expires_in_days":3651}`, 400, "body.expires_in_days"},
		{"expires zero", "POST", configvault.Prefix + "/keys", "application/json", `{"tenant_id":"` + ten.Id.String() + `","expires_in_days":0}`, 400, "body.expires_in_days"},
		{"key size for EC", "POST", configvault.Prefix + "/keys", "application/json", `{"tenant_id":"` + ten.Id.String() + `","algorithm":"ES256","key_size":2048}`, 400, "body.key_size"},
		{"odd key size", "POST", configvault.Prefix + "/keys", "application/json", `{"tenant_id":"` + ten.Id.String() + `","key_size":1024}`, 400, "body.key_size"},
		{"unknown algorithm", "POST", configvault.Prefix + "/keys", "application/json", `{"tenant_id":"` + ten.Id.String() + `","algorithm":"HS256"}`, 400, "body.algorithm"},
		{"unknown tenant", "POST", configvault.Prefix + "/sites", "application/json", `{"tenant_id":"` + uuid.Must(uuid.NewV7()).String() + `","name":"s","domain":"s.example"}`, 400, "body.tenant_id"},
		{"key ref with slash chars", "GET", configvault.Prefix + "/keys/a%20b", "", "", 400, "path.key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, doc := e.raw(tc.method, tc.path, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, doc)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if tc.field != "" && !containsStr(fields(doc), tc.field) {
				t.Fatalf("errors %v do not name %s: %v", fields(doc), tc.field, doc)
			}
		})
	}
	// Nothing of the above was written.
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.tenants").Scan(&n); err != nil || n != 1 {
		t.Fatalf("tenants after bad input: %d %v", n, err)
	}
	var k int
	if err := e.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM configvault.sites) + (SELECT count(*) FROM configvault.signing_keys)").Scan(&k); err != nil || k != 0 {
		t.Fatalf("sites+keys after bad input: %d %v", k, err)
	}
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `","domain":"a.example"}`
	resp, doc := e.raw("POST", configvault.Prefix+"/tenants", "application/json", big)
	if resp.StatusCode != 413 || doc["status"] != float64(413) {
		t.Fatalf("status %d: %v", resp.StatusCode, doc)
	}
}

func TestUnknownRoutesAndMethodsAreProblems(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("routes")
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nowhere", 404, ""},
		{"GET", configvault.Prefix + "/nowhere", 404, ""},
		{"PATCH", configvault.Prefix + "/tenants/" + ten.Id.String(), 405, "DELETE, GET, HEAD, PUT"},
		{"DELETE", configvault.Prefix + "/tenants", 405, "GET, HEAD, POST"},
		{"POST", configvault.Prefix + "/openapi.json", 405, "GET, HEAD"},
	} {
		resp, doc := e.raw(tc.method, tc.path, "", "")
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" || doc["status"] != float64(tc.status) {
			t.Errorf("%s %s: %d %q %v", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), doc)
		}
		if resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, resp.Header.Get("Allow"), tc.allow)
		}
	}
	resp, doc := e.raw("GET", configvault.Prefix+"/openapi.json", "", "")
	if resp.StatusCode != 200 || doc["openapi"] != "3.0.3" {
		t.Fatalf("spec: %d %v", resp.StatusCode, doc["openapi"])
	}
}

func TestDuplicateDomainsConcurrently(t *testing.T) {
	e := newEnv(t)
	const n = 12
	domain := uniqueDomain("race")
	codes := testkit.Concurrently(n, func(i int) int {
		// Case differences must not defeat uniqueness.
		d := domain
		if i%2 == 1 {
			d = strings.ToUpper(domain)
		}
		r, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: fmt.Sprint("t", i), Domain: d})
		if err != nil {
			t.Error(err)
			return 0
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[201] != 1 || got[409] != n-1 {
		t.Fatalf("want one 201 and %d 409s, got %v", n-1, codes)
	}

	// Sites: same rule, and across tenants.
	a, b := e.tenant("a"), e.tenant("b")
	sd := uniqueDomain("site")
	codes = testkit.Concurrently(n, func(i int) int {
		owner := a.Id
		if i%2 == 1 {
			owner = b.Id
		}
		r, err := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: owner, Name: "s", Domain: sd})
		if err != nil {
			t.Error(err)
			return 0
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[201] != 1 || got[409] != n-1 {
		t.Fatalf("sites: want one 201 and %d 409s, got %v", n-1, codes)
	}

	// Renaming into a taken domain is a conflict too.
	other := e.tenant("other")
	r, _ := e.c.UpdateTenantWithResponse(ctx, other.Id, nil, client.TenantUpdate{Domain: ptr(strings.ToUpper(domain))})
	status(t, r.StatusCode(), 409, r.Body)
}

func TestPaginationIsStableAndComplete(t *testing.T) {
	e := newEnv(t)
	var want []uuid.UUID
	for i := range 7 {
		want = append(want, e.tenant(fmt.Sprint("p", i)).Id)
	}
	var got []uuid.UUID
	var cursor *string
	pages := 0
	for {
		r, err := e.c.ListTenantsWithResponse(ctx, &client.ListTenantsParams{Limit: ptr(3), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		status(t, r.StatusCode(), 200, r.Body)
		pages++
		for _, it := range r.JSON200.Items {
			got = append(got, it.Id)
		}
		if r.JSON200.NextCursor == nil {
			break
		}
		cursor = r.JSON200.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %d\n got %v\nwant %v", pages, got, want)
	}

	inactive := false
	e.c.UpdateTenantWithResponse(ctx, want[2], nil, client.TenantUpdate{IsActive: &inactive})
	r, _ := e.c.ListTenantsWithResponse(ctx, &client.ListTenantsParams{IsActive: &inactive})
	if len(r.JSON200.Items) != 1 || r.JSON200.Items[0].Id != want[2] {
		t.Fatalf("is_active filter: %+v", r.JSON200.Items)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t)
	key := uuid.NewString()
	body := client.TenantCreate{Name: "Idem", Domain: uniqueDomain("idem")}
	first, _ := e.c.CreateTenantWithResponse(ctx, &client.CreateTenantParams{IdempotencyKey: &key}, body)
	status(t, first.StatusCode(), 201, first.Body)
	replay, _ := e.c.CreateTenantWithResponse(ctx, &client.CreateTenantParams{IdempotencyKey: &key}, body)
	status(t, replay.StatusCode(), 201, replay.Body)
	if !bytes.Equal(first.Body, replay.Body) || replay.HTTPResponse.Header.Get("Location") != first.HTTPResponse.Header.Get("Location") {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, replay.Body)
	}
	if replay.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	var n int
	_ = e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.tenants").Scan(&n)
	if n != 1 {
		t.Fatalf("%d tenants after a replay, want 1", n)
	}
	body.Name = "Other"
	mismatch, _ := e.c.CreateTenantWithResponse(ctx, &client.CreateTenantParams{IdempotencyKey: &key}, body)
	status(t, mismatch.StatusCode(), 422, mismatch.Body)

	// A key is also a create for keys, with the same guarantees.
	ten := first.JSON201
	kk := uuid.NewString()
	k1, _ := e.c.CreateKeyWithResponse(ctx, &client.CreateKeyParams{IdempotencyKey: &kk}, client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	k2, _ := e.c.CreateKeyWithResponse(ctx, &client.CreateKeyParams{IdempotencyKey: &kk}, client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	status(t, k2.StatusCode(), 201, k2.Body)
	if k1.JSON201.Kid != k2.JSON201.Kid {
		t.Fatal("replayed key create made a second key")
	}
}
