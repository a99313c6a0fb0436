package configvault_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/configvault"
	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/authz"
)

// world is what the access tests aim at: tenant A with two sites and keys,
// and another tenant B with a site of its own.
type world struct {
	a, b              client.Tenant
	siteA, otherSiteA client.Site
	siteB             client.Site
	keyA              client.SigningKey // tenant-level
	siteKeyA          client.SigningKey // of siteA
}

func (e *env) world() world {
	e.t.Helper()
	w := world{a: e.tenant("a"), b: e.tenant("b")}
	w.siteA, w.otherSiteA, w.siteB = e.site(w.a.Id, "a1"), e.site(w.a.Id, "a2"), e.site(w.b.Id, "b1")
	w.keyA = e.key(client.SigningKeyCreate{TenantId: w.a.Id, Algorithm: ptr(client.ES256)})
	w.siteKeyA = e.key(client.SigningKeyCreate{TenantId: w.a.Id, SiteId: &w.siteA.Id, Algorithm: ptr(client.ES256)})
	return w
}

// disguise maps every id and kid of tenant A to a fresh one that names
// nothing, and back: a request disguised addresses resources that do not
// exist, where the original addresses A's.
func (w world) disguise() (hide, reveal *strings.Replacer) {
	var there, back []string
	for _, id := range []uuid.UUID{w.a.Id, w.siteA.Id, w.otherSiteA.Id, w.keyA.Id, w.siteKeyA.Id} {
		fresh := uuid.Must(uuid.NewV7()).String()
		there, back = append(there, id.String(), fresh), append(back, fresh, id.String())
	}
	for _, kid := range []string{w.keyA.Kid, w.siteKeyA.Kid} {
		fresh := strings.ReplaceAll(uuid.NewString(), "-", "") // a valid key reference, no kid
		there, back = append(there, kid, fresh), append(back, fresh, kid)
	}
	return strings.NewReplacer(there...), strings.NewReplacer(back...)
}

type request struct{ method, path, body string }

func (r request) String() string { return r.method + " " + r.path }

// send sends r as e's caller; the answer is validated against the spec.
func (e *env) send(r request, header ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	ctype := ""
	if r.body != "" {
		ctype = "application/json"
	}
	return e.raw(r.method, configvault.Prefix+r.path, ctype, r.body, header...)
}

// accessCase is how one operation answers each kind of caller.
type accessCase struct {
	// request and body address tenant A's resources: "METHOD path" and a
	// JSON body, where {a}, {siteA}, {keyA}, {kidA} (its kid) and {siteKeyA}
	// stand for A's ids and {domain} for an unused domain (see world.request).
	request, body string
	// admin is the status for env's caller: a platform administrator (the
	// IAM service for the internal operation).
	admin int
	// other is the status for an administrator of tenant B: 404, or 200 for
	// a list, which must then show nothing of A, or 403 for creating a
	// tenant, where no id is involved.
	other int
}

// accessCases has a case for every operation of the spec: a new one fails
// TestEveryOperationKeepsTenantsApart until it has its own. Each case gets a
// world of its own, so that the administrator's request may destroy it.
var accessCases = map[string]accessCase{
	"createTenant":       {"POST /tenants", `{"name":"new","domain":"{domain}"}`, 201, 403},
	"listTenants":        {"GET /tenants", "", 200, 200},
	"getTenant":          {"GET /tenants/{a}", "", 200, 404},
	"updateTenant":       {"PUT /tenants/{a}", `{"name":"renamed"}`, 200, 404},
	"deleteTenant":       {"DELETE /tenants/{a}", "", 204, 404},
	"listTenantSites":    {"GET /tenants/{a}/sites", "", 200, 404},
	"listTenantKeys":     {"GET /tenants/{a}/keys", "", 200, 404},
	"getTenantActiveKey": {"GET /tenants/{a}/keys/active", "", 200, 404},
	"getTenantJWKS":      {"GET /tenants/{a}/jwks.json", "", 200, 200},
	"createSite":         {"POST /sites", `{"tenant_id":"{a}","name":"new","domain":"{domain}"}`, 201, 404},
	"listSites":          {"GET /sites?tenant_id={a}", "", 200, 200},
	"getSite":            {"GET /sites/{siteA}", "", 200, 404},
	"updateSite":         {"PUT /sites/{siteA}", `{"name":"renamed"}`, 200, 404},
	"deleteSite":         {"DELETE /sites/{siteA}", "", 204, 404},
	"listSiteKeys":       {"GET /sites/{siteA}/keys", "", 200, 404},
	"getSiteActiveKey":   {"GET /sites/{siteA}/keys/active", "", 200, 404},
	"getSiteJWKS":        {"GET /sites/{siteA}/jwks.json", "", 200, 200},
	"createKey":          {"POST /keys", `{"tenant_id":"{a}","site_id":"{siteA}","algorithm":"ES256"}`, 201, 404},
	"getKey":             {"GET /keys/{kidA}", "", 200, 404}, // by kid; by id below: both lookups are scoped
	"deleteKey":          {"DELETE /keys/{siteKeyA}", "", 204, 404},
	"activateKey":        {"POST /keys/{keyA}/activate", "", 200, 404},
	"deactivateKey":      {"POST /keys/{keyA}/deactivate", "", 200, 404},
	"revokeKey":          {"POST /keys/{siteKeyA}/revoke", "", 200, 404},
	"signToken":          {"POST /internal/tenants/{a}/tokens", `{"claims":{"sub":"u"},"site_id":"{siteA}"}`, 200, 404},
}

// request is c's request on w.
func (w world) request(c accessCase) request {
	ids := strings.NewReplacer("{a}", w.a.Id.String(), "{siteA}", w.siteA.Id.String(), "{keyA}", w.keyA.Id.String(),
		"{kidA}", w.keyA.Kid, "{siteKeyA}", w.siteKeyA.Id.String(), "{domain}", uniqueDomain("new"))
	method, path, _ := strings.Cut(c.request, " ")
	return request{method, ids.Replace(path), ids.Replace(c.body)}
}

// Every operation of the spec, tried by every kind of caller on tenant A's
// resources: without a token 401; with A's own token lacking the
// operation's permission 403 naming it; with B's administrator's token 404
// (or a list showing nothing of A, or 403 for a tenant's creation), answered
// exactly as for resources that do not exist and changing nothing of A; and
// as a platform administrator (the IAM service for signing) through. The
// operations come from the spec, so a new one cannot escape.
func TestEveryOperationKeepsTenantsApart(t *testing.T) {
	e := newEnv(t)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := authz.Operations(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		t.Run(op.OperationID, func(t *testing.T) {
			e := *e
			e.t = t
			// The embedded spec's operation ids start upper-case.
			tc, ok := accessCases[strings.ToLower(op.OperationID[:1])+op.OperationID[1:]]
			if !ok {
				t.Fatalf("%s %s has no access case: add one to accessCases", op.Method, op.Path)
			}
			w := e.world()
			req := w.request(tc)
			other := e.as(tenantAdmin(w.b.Id))
			if op.Open {
				for _, caller := range []*env{e.anonymous(), other} {
					if resp, doc := caller.send(req); resp.StatusCode != tc.admin {
						t.Fatalf("%s, open: %d %v", req, resp.StatusCode, doc)
					}
				}
				return
			}
			before := e.fingerprint(w.a.Id)

			resp, doc := e.anonymous().send(req)
			challenge(t, "no token", resp, doc, 401, `Bearer`)
			resp, doc = e.anonymous().send(req, "Authorization", "Bearer not-a-token")
			challenge(t, "an invalid token", resp, doc, 401, `Bearer error="invalid_token"`)

			need := op.Alternatives[0]
			lacking := authtest.Grant{Tenant: w.a.Id, Scopes: slices.DeleteFunc(slices.Clone(everyPermission), func(p string) bool { return slices.Contains(need, p) })}
			resp, doc = e.as(lacking).send(req)
			challenge(t, "A's token without "+need[0], resp, doc, 403, `Bearer error="insufficient_scope", scope="`+need[0]+`"`)

			resp, doc = other.send(req)
			if resp.StatusCode != tc.other {
				t.Fatalf("%s by B's administrator: %d, want %d: %v", req, resp.StatusCode, tc.other, doc)
			}
			if shown := idsOfAIn(w, doc); resp.StatusCode == 200 && shown != "" {
				t.Fatalf("%s by B's administrator shows A's %s: %v", req, shown, doc)
			}
			hide, reveal := w.disguise()
			missingResp, missingDoc := other.send(request{req.method, hide.Replace(req.path), hide.Replace(req.body)})
			if got, want := answer(missingResp, missingDoc, reveal), answer(resp, doc, nil); got != want {
				t.Fatalf("%s by B's administrator tells A's resources from missing ones:\n A's: %s\n missing: %s", req, want, got)
			}
			if after := e.fingerprint(w.a.Id); after != before {
				t.Fatalf("%s: a refused request changed tenant A:\n before %s\n after  %s", req, before, after)
			}

			if resp, doc = e.send(req); resp.StatusCode != tc.admin {
				t.Fatalf("%s by a platform administrator: %d, want %d: %v", req, resp.StatusCode, tc.admin, doc)
			}
		})
	}
}

// challenge checks a refusal by the authorization middleware.
func challenge(t *testing.T, who string, resp *http.Response, doc map[string]any, status int, wwwAuthenticate string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("WWW-Authenticate") != wwwAuthenticate {
		t.Fatalf("%s: %d with WWW-Authenticate %q, want %d with %q: %v",
			who, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), status, wwwAuthenticate, doc)
	}
}

// answer is what a caller learns from a response: its status and detail,
// or its whole body when it succeeded; reveal (when given) maps disguised
// ids back first.
func answer(resp *http.Response, doc map[string]any, reveal *strings.Replacer) string {
	var learnt any = doc
	if resp.StatusCode >= 400 {
		learnt = doc["detail"]
	}
	b, _ := json.Marshal(map[string]any{"status": resp.StatusCode, "learnt": learnt})
	if reveal == nil {
		return string(b)
	}
	return reveal.Replace(string(b))
}

// idsOfAIn names the first id or kid of tenant A that doc holds, if any.
func idsOfAIn(w world, doc map[string]any) string {
	b, _ := json.Marshal(doc)
	for _, id := range []string{w.a.Id.String(), w.siteA.Id.String(), w.otherSiteA.Id.String(), w.keyA.Id.String(),
		w.siteKeyA.Id.String(), w.keyA.Kid, w.siteKeyA.Kid} {
		if strings.Contains(string(b), id) {
			return id
		}
	}
	return ""
}

// fingerprint is every row of tenant's, as text: any change changes it.
func (e *env) fingerprint(tenant uuid.UUID) string {
	e.t.Helper()
	var s string
	if err := e.pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(string_agg(t::text, ';' ORDER BY t.id), '') FROM configvault.tenants t WHERE t.id = $1) || ' | ' ||
		(SELECT coalesce(string_agg(s::text, ';' ORDER BY s.id), '') FROM configvault.sites s WHERE s.tenant_id = $1) || ' | ' ||
		(SELECT coalesce(string_agg(k::text, ';' ORDER BY k.id), '') FROM configvault.signing_keys k WHERE k.tenant_id = $1)`,
		tenant).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// Without tenant_id in the path, the lists show the caller's own tenant's
// entries only; a platform administrator's show every tenant's.
func TestListsShowTheCallersOwnTenant(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	asB := e.as(tenantAdmin(w.b.Id))
	tenants := func(as *env, isActive *bool) []uuid.UUID {
		t.Helper()
		r, err := as.c.ListTenantsWithResponse(ctx, &client.ListTenantsParams{IsActive: isActive})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list tenants: %v %s", err, r.Body)
		}
		return mapIDs(r.JSON200.Items, func(t client.Tenant) uuid.UUID { return t.Id })
	}
	sites := func(as *env, tenant *uuid.UUID) []uuid.UUID {
		t.Helper()
		r, err := as.c.ListSitesWithResponse(ctx, &client.ListSitesParams{TenantId: tenant})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list sites: %v %s", err, r.Body)
		}
		return mapIDs(r.JSON200.Items, func(s client.Site) uuid.UUID { return s.Id })
	}
	off, on := false, true
	nobody := uuid.Must(uuid.NewV7())
	for _, tc := range []struct {
		name      string
		got, want []uuid.UUID
	}{
		{"B's tenants", tenants(asB, nil), []uuid.UUID{w.b.Id}},
		{"B's active tenants", tenants(asB, &on), []uuid.UUID{w.b.Id}},
		{"B's inactive tenants", tenants(asB, &off), nil},
		{"B's sites", sites(asB, nil), []uuid.UUID{w.siteB.Id}},
		{"B's sites of B", sites(asB, &w.b.Id), []uuid.UUID{w.siteB.Id}},
		{"B's sites of A", sites(asB, &w.a.Id), nil},
		{"B's sites of no tenant", sites(asB, &nobody), nil},
		{"every tenant", tenants(e, nil), []uuid.UUID{w.a.Id, w.b.Id}},
		{"every site", sites(e, nil), []uuid.UUID{w.siteA.Id, w.otherSiteA.Id, w.siteB.Id}},
		{"sites of A", sites(e, &w.a.Id), []uuid.UUID{w.siteA.Id, w.otherSiteA.Id}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	// The cursor applies to the caller's one tenant as to the whole list
	// (tenants A, B, C in this order), and a forged one is still refused.
	e.tenant("c")
	cursor := func(limit int) *string {
		r, _ := e.c.ListTenantsWithResponse(ctx, &client.ListTenantsParams{Limit: &limit})
		return r.JSON200.NextCursor
	}
	for _, tc := range []struct {
		name   string
		cursor *string
		want   []uuid.UUID
	}{{"after A", cursor(1), []uuid.UUID{w.b.Id}}, {"after B", cursor(2), nil}} {
		r, _ := asB.c.ListTenantsWithResponse(ctx, &client.ListTenantsParams{Limit: ptr(1), Cursor: tc.cursor})
		if got := mapIDs(r.JSON200.Items, func(t client.Tenant) uuid.UUID { return t.Id }); !slices.Equal(got, tc.want) || r.JSON200.NextCursor != nil {
			t.Errorf("B's tenants %s: %s, want %v", tc.name, r.Body, tc.want)
		}
	}
	for _, path := range []string{"/tenants?cursor=AAAA", "/sites?cursor=AAAA&tenant_id=" + w.a.Id.String()} {
		resp, doc := asB.send(request{"GET", path, ""})
		if resp.StatusCode != 400 || !containsStr(fields(doc), "query.cursor") {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, doc)
		}
	}

	// A token outliving its tenant lists nothing.
	del, _ := e.c.DeleteTenantWithResponse(ctx, w.b.Id, nil)
	status(t, del.StatusCode(), 204, del.Body)
	if got := append(tenants(asB, nil), sites(asB, nil)...); len(got) != 0 {
		t.Fatalf("a deleted tenant's token lists %v", got)
	}
}

func mapIDs[T any](items []T, id func(T) uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

// A permission granted on one site reaches that site and its keys through
// the operations that name the site in their path, and nothing else: not
// another site of the tenant, not the operations that name no site (the
// key's own, the lists, creating a key), and not a site of another tenant
// however the token names it.
func TestSitePermissionsReachThatSiteOnly(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	perms := []string{"sites:read", "sites:write", "keys:read", "keys:write"}
	onSiteA := e.as(authtest.Grant{Tenant: w.a.Id, Sites: map[uuid.UUID][]string{w.siteA.Id: perms}})

	g, _ := onSiteA.c.GetSiteWithResponse(ctx, w.siteA.Id)
	status(t, g.StatusCode(), 200, g.Body)
	keys, _ := onSiteA.c.ListSiteKeysWithResponse(ctx, w.siteA.Id, nil)
	status(t, keys.StatusCode(), 200, keys.Body)
	if len(keys.JSON200.Items) != 1 || keys.JSON200.Items[0].Id != w.siteKeyA.Id {
		t.Fatalf("the site's keys: %s", keys.Body)
	}
	active, _ := onSiteA.c.GetSiteActiveKeyWithResponse(ctx, w.siteA.Id)
	status(t, active.StatusCode(), 200, active.Body)
	if active.JSON200.Id != w.siteKeyA.Id {
		t.Fatalf("the site's active key: %s", active.Body)
	}
	u, _ := onSiteA.c.UpdateSiteWithResponse(ctx, w.siteA.Id, nil, client.SiteUpdate{Name: ptr("renamed")})
	status(t, u.StatusCode(), 200, u.Body)

	for _, tc := range []struct {
		req  request
		need string
	}{
		{request{"GET", "/sites/" + w.otherSiteA.Id.String(), ""}, "sites:read"},
		{request{"PUT", "/sites/" + w.otherSiteA.Id.String(), `{"name":"x"}`}, "sites:write"},
		{request{"GET", "/sites/" + w.otherSiteA.Id.String() + "/keys", ""}, "keys:read"},
		{request{"GET", "/sites/" + w.otherSiteA.Id.String() + "/keys/active", ""}, "keys:read"},
		{request{"GET", "/keys/" + w.siteKeyA.Kid, ""}, "keys:read"},
		{request{"POST", "/keys/" + w.siteKeyA.Kid + "/revoke", ""}, "keys:write"},
		{request{"POST", "/keys", `{"tenant_id":"` + w.a.Id.String() + `","site_id":"` + w.siteA.Id.String() + `","algorithm":"ES256"}`}, "keys:write"},
		{request{"GET", "/sites?tenant_id=" + w.a.Id.String(), ""}, "sites:read"},
		{request{"GET", "/tenants/" + w.a.Id.String() + "/keys", ""}, "keys:read"},
	} {
		resp, doc := onSiteA.send(tc.req)
		challenge(t, tc.req.String(), resp, doc, 403, `Bearer error="insufficient_scope", scope="`+tc.need+`"`)
	}

	// IAM never names another tenant's site in a token; if a token did, the
	// site would still not be there for it.
	forged := e.as(authtest.Grant{Tenant: w.b.Id, Sites: map[uuid.UUID][]string{w.siteA.Id: perms}})
	before := e.fingerprint(w.a.Id)
	for _, req := range []request{
		{"GET", "/sites/" + w.siteA.Id.String(), ""},
		{"PUT", "/sites/" + w.siteA.Id.String(), `{"name":"taken"}`},
		{"DELETE", "/sites/" + w.siteA.Id.String(), ""},
		{"GET", "/sites/" + w.siteA.Id.String() + "/keys", ""},
		{"GET", "/sites/" + w.siteA.Id.String() + "/keys/active", ""},
	} {
		if resp, doc := forged.send(req); resp.StatusCode != 404 {
			t.Errorf("%s with B's token naming A's site: %d %v", req, resp.StatusCode, doc)
		}
	}
	if e.fingerprint(w.a.Id) != before {
		t.Fatal("B's token naming A's site changed tenant A")
	}
}

// Creating a tenant is the platform's business: a tenant's administrator
// holding tenants:write may change its own tenant, not make another.
func TestOnlyPlatformAdministratorsCreateTenants(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("mine")
	own := e.as(tenantAdmin(ten.Id))
	r, _ := own.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "another", Domain: uniqueDomain("another")})
	status(t, r.StatusCode(), 403, r.Body)
	if want := "only platform administrators may create tenants"; detail(r.ApplicationproblemJSON403) != want {
		t.Fatalf("detail %q, want %q", detail(r.ApplicationproblemJSON403), want)
	}
	u, _ := own.c.UpdateTenantWithResponse(ctx, ten.Id, nil, client.TenantUpdate{Name: ptr("still mine")})
	status(t, u.StatusCode(), 200, u.Body)
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.tenants").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d tenants (%v), want 1", n, err)
	}
	// A member of the platform tenant holding the permission is an
	// administrator; one holding only another permission is refused by it.
	writer := e.as(authtest.Grant{Tenant: authtest.PlatformTenantID, Scopes: []string{"tenants:write"}})
	c, _ := writer.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "p", Domain: uniqueDomain("p")})
	status(t, c.StatusCode(), 201, c.Body)
	reader := e.as(authtest.Grant{Tenant: authtest.PlatformTenantID, Scopes: []string{"tenants:read"}})
	resp, doc := reader.send(request{"POST", "/tenants", `{"name":"r","domain":"` + uniqueDomain("r") + `"}`})
	challenge(t, "a platform reader", resp, doc, 403, `Bearer error="insufficient_scope", scope="tenants:write"`)
}

// The other services' credentials read tenants and sites across tenants,
// as they need to, and change nothing; only the IAM service signs, and no
// access token, whatever it claims.
func TestServiceCredentialsDoWhatTheirServiceNeeds(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	for _, svc := range []string{"uam", "content"} {
		token := e.issuer.Credential(t, svc, "config-vault")
		as := e.withToken(token)
		for _, req := range []request{
			{"GET", "/tenants/" + w.a.Id.String(), ""},
			{"GET", "/sites/" + w.siteA.Id.String(), ""},
			{"GET", "/sites?tenant_id=" + w.a.Id.String(), ""},
		} {
			if resp, doc := as.send(req); resp.StatusCode != 200 {
				t.Errorf("%s %s: %d %v", svc, req, resp.StatusCode, doc)
			}
		}
		resp, doc := as.send(request{"PUT", "/sites/" + w.siteA.Id.String(), `{"name":"x"}`})
		challenge(t, svc+" changing a site", resp, doc, 403, `Bearer error="insufficient_scope", scope="sites:write"`)
	}

	// Signing: a principal of the platform tenant without tokens:sign is no
	// administrator for it, so A is another tenant to it (404); A's own
	// client is refused the permission it claims (403).
	sign := w.request(accessCases["signToken"])
	uam := e.issuer.Credential(t, "uam", "config-vault")
	for name, as := range map[string]*env{
		"the UAM service": e.withToken(uam),
		"a platform administrator claiming tokens:sign": e.as(authtest.Grant{Tenant: authtest.PlatformTenantID,
			Scopes: append(slices.Clone(everyPermission), "tokens:sign")}),
	} {
		if resp, doc := as.send(sign); resp.StatusCode != 404 {
			t.Errorf("%s signing: %d %v", name, resp.StatusCode, doc)
		}
	}
	resp, doc := e.as(authtest.Grant{Tenant: w.a.Id, Client: "iam", Scopes: []string{"tokens:sign"}}).send(sign)
	challenge(t, "A's client named iam claiming tokens:sign", resp, doc, 403, `Bearer error="insufficient_scope", scope="tokens:sign"`)
	if resp, doc := e.send(sign); resp.StatusCode != 200 {
		t.Fatalf("the IAM service signing: %d %v", resp.StatusCode, doc)
	}
}

// The scoping is the service's, by the principal the middleware puts into
// the request; a call carrying none is the process's own (a command, a
// bootstrap) and reaches every tenant.
func TestCallsWithoutAPrincipalReachEveryTenant(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	sites, _, err := e.svc.ListSites(ctx, configvault.ListQuery{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := mapIDs(sites, func(s configvault.Site) uuid.UUID { return s.ID })
	if want := []uuid.UUID{w.siteA.Id, w.otherSiteA.Id, w.siteB.Id}; !slices.Equal(got, want) {
		t.Fatalf("sites %v, want %v", got, want)
	}
	if _, err := e.svc.CreateTenant(ctx, configvault.NewTenant{Name: "own", Domain: uniqueDomain("own"), IsActive: true}); err != nil {
		t.Fatal(err)
	}
}
