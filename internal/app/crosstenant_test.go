package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	cvapi "github.com/saasplatform/saas/gen/api/configvault"
	contentapi "github.com/saasplatform/saas/gen/api/content"
	iamapi "github.com/saasplatform/saas/gen/api/iam"
	uamapi "github.com/saasplatform/saas/gen/api/uam"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/contract"
)

// specs are every service's contract with its path prefix: the matrix
// covers each operation of each, so a new endpoint cannot escape it.
var specs = []struct {
	prefix string
	load   func() (*openapi3.T, error)
}{
	{"/config-vault/v1", cvapi.GetSwagger},
	{"/uam/v1", uamapi.GetSwagger},
	{"/iam/v1", iamapi.GetSwagger},
	{"/content/v1", contentapi.GetSwagger},
}

// The cross-tenant matrix: an administrator of tenant B, holding every
// tenant-level permission, calls every protected operation of every service
// addressing tenant A's resources. Each answer must be 404 (or 403 for an
// operation that names no resource), or a success that shows nothing of A;
// afterwards A's resources are all still there, unchanged. The same for a
// member of the platform tenant without platform-level permissions.
func TestNoTenantReachesAnother(t *testing.T) {
	p := apptest.Start(t)
	a := newTenant(t, p, "alpha")
	b := newTenant(t, p, "bravo")
	reachesNothingOf(t, p, a, "tenant B's administrator", b.adminToken)
	// A member of the platform tenant holding tenant-admin there but no
	// platform-level permission is no platform administrator: the platform
	// tenant is just its tenant.
	reachesNothingOf(t, p, a, "a platform-tenant member without platform permissions", platformMember(t, p))
}

// reachesNothingOf calls every protected operation of every service with
// token, addressing tenant a's resources, and checks each answer and that a
// is unchanged afterwards.
func reachesNothingOf(t *testing.T, p *apptest.Platform, a tenant, who, token string) {
	t.Helper()
	values := a.ids()
	before := a.snapshot(t, p)
	probed := 0

	for _, s := range specs {
		doc, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		ops, err := authz.Operations(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if op.Open {
				continue // anyone may call it: nothing of A is protected there
			}
			probed++
			name := op.Method + " " + s.prefix + op.Path
			req := probe(t, doc, p.URL+s.prefix, op, values)
			req.Header.Set("Authorization", "Bearer "+token)
			code, body := do(t, req)
			switch {
			case code == http.StatusNotFound:
			case code == http.StatusForbidden && !strings.Contains(op.Path, "{"):
			case code/100 == 2 && !strings.Contains(op.Path, "{"):
				for name, id := range values {
					if notIdentifying[name] {
						continue
					}
					if strings.Contains(body, id) {
						t.Errorf("%s: %d to %s shows tenant A's %s: %s", name, code, who, id, body)
					}
				}
			default:
				t.Errorf("%s as %s: %d %s, want 404 (or 403 without an id in the path)", name, who, code, body)
			}
		}
	}
	if probed < 50 {
		t.Errorf("only %d operations probed: the specs did not load as expected", probed)
	}
	if after := a.snapshot(t, p); after != before {
		t.Errorf("tenant A changed by %s:\nbefore %s\nafter  %s", who, before, after)
	}
}

// platformMember signs in a new user of the platform tenant who holds the
// built-in tenant-admin role there (every tenant-level permission) but not
// platform-admin (tenants:write), and returns its access token.
func platformMember(t *testing.T, p *apptest.Platform) string {
	t.Helper()
	users := p.URL + "/uam/v1/tenants/" + p.PlatformTenantID.String()
	call := func(method, url, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.AdminToken(t))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		code, out := do(t, req)
		if code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, url, code, out)
		}
		return out
	}
	var u struct{ ID string }
	_ = json.Unmarshal([]byte(call("POST", users+"/users", `{"email":"member@platform.example.com","password":"`+adminPassword+`"}`)), &u)
	call("PUT", users+"/users/"+u.ID+"/roles/00000000-0000-7000-8000-000000000201", "")
	token, _ := p.Login(t, &p.PlatformTenantID, "member@platform.example.com", adminPassword)
	return token
}

// notIdentifying are path values that name nothing of tenant A by
// themselves (a revision number, a content type), so bodies may hold them.
var notIdentifying = map[string]bool{"revision": true, "type": true}

// probe builds a request for op whose path and query parameters, and the
// ids in its body, name tenant A's resources, and whose body is otherwise
// valid, so that a refusal is the tenant check's and not the validator's.
func probe(t *testing.T, doc *openapi3.T, base string, op authz.Operation, values map[string]string) *http.Request {
	t.Helper()
	path := regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllStringFunc(op.Path, func(m string) string {
		v, ok := values[m[1:len(m)-1]]
		if !ok {
			t.Fatalf("%s %s: no value for path parameter %s: add it to the matrix", op.Method, op.Path, m)
		}
		return url.PathEscape(v)
	})
	operation := doc.Paths.Find(op.Path).GetOperation(op.Method)
	var body io.Reader
	contentType := ""
	if rb := operation.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil {
			b, err := json.Marshal(samples(values).Of(mt.Schema.Value, ""))
			if err != nil {
				t.Fatal(err)
			}
			body, contentType = strings.NewReader(string(b)), "application/json"
		} else if mt := rb.Value.Content.Get("application/x-www-form-urlencoded"); mt != nil {
			form := url.Values{}
			for name, prop := range mt.Schema.Value.Properties {
				form.Set(name, fmt.Sprint(samples(values).Of(prop.Value, name)))
			}
			body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
		}
	}
	req, err := http.NewRequest(op.Method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{}
	for _, param := range append(doc.Paths.Find(op.Path).Parameters, operation.Parameters...) {
		pv := param.Value
		if pv.In == "query" {
			if v, ok := values[pv.Name]; ok {
				q.Set(pv.Name, v)
			}
		}
		if pv.In == "header" && pv.Name == "If-Match" {
			req.Header.Set("If-Match", "*")
		}
	}
	req.URL.RawQuery = q.Encode()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// samples fill bodies with tenant A's ids and otherwise valid values.
func samples(values map[string]string) contract.Samples {
	fixed := maps.Clone(contract.DefaultFixed)
	fixed["current_password"], fixed["new_password"] = adminPassword, adminPassword // B's own, unchanged
	return contract.Samples{Values: values, Fixed: fixed}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminPassword is the password of every tenant administrator here.
const adminPassword = "a long and unusual admin passphrase"

// tenant is a tenant with one of each resource, and an administrator.
type tenant struct {
	id, site, key, user, role, permission, client string
	// item is a published content item of type "page" with slug itemSlug.
	item, itemSlug string
	adminToken     string
}

func (tn tenant) ids() map[string]string {
	return map[string]string{"tenant_id": tn.id, "site_id": tn.site, "key": tn.key, "user_id": tn.user,
		"role_id": tn.role, "permission": tn.permission, "client_id": tn.client,
		"item_id": tn.item, "revision": "1", "type": "page", "slug": tn.itemSlug}
}

// newTenant creates a tenant through the APIs as the platform administrator.
func newTenant(t *testing.T, p *apptest.Platform, name string) tenant {
	t.Helper()
	admin := p.AdminToken(t)
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		code, out := do(t, req)
		if code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		return m
	}
	var tn tenant
	tn.id = call("POST", "/config-vault/v1/tenants", `{"name":"`+name+`","domain":"`+name+`.example.com"}`)["id"].(string)
	tn.site = call("POST", "/config-vault/v1/sites", `{"tenant_id":"`+tn.id+`","name":"www","domain":"www.`+name+`.example.com"}`)["id"].(string)
	tn.key = call("POST", "/config-vault/v1/keys", `{"tenant_id":"`+tn.id+`","algorithm":"ES256"}`)["id"].(string)
	users := "/uam/v1/tenants/" + tn.id
	tn.user = call("POST", users+"/users", `{"email":"admin@`+name+`.example.com","password":"`+adminPassword+`"}`)["id"].(string)
	call("PUT", users+"/users/"+tn.user+"/roles/00000000-0000-7000-8000-000000000201", "")
	tn.role = call("POST", users+"/roles", `{"name":"auditor","permissions":["users:read"]}`)["id"].(string)
	tn.permission = call("POST", users+"/permissions", `{"name":"`+name+`:read","description":"Read `+name+`."}`)["name"].(string)
	tn.client = call("POST", "/iam/v1/tenants/"+tn.id+"/clients", `{"name":"ci","scopes":["users:read"]}`)["client_id"].(string)
	// Published, so that delivery would show it to anyone its scoping let in.
	items := "/content/v1/tenants/" + tn.id + "/sites/" + tn.site + "/items"
	tn.itemSlug = name + "-home"
	tn.item = call("POST", items, `{"type":"page","slug":"`+tn.itemSlug+`","title":"`+name+` home","body":"Welcome to `+name+`."}`)["id"].(string)
	call("POST", items+"/"+tn.item+"/publish", "")
	tid := mustUUID(t, tn.id)
	tn.adminToken, _ = p.Login(t, &tid, "admin@"+name+".example.com", adminPassword)
	return tn
}

// snapshot reads every resource of the tenant as its own administrator.
func (tn tenant) snapshot(t *testing.T, p *apptest.Platform) string {
	t.Helper()
	var out strings.Builder
	for _, path := range []string{
		"/config-vault/v1/tenants/" + tn.id,
		"/config-vault/v1/sites/" + tn.site,
		"/config-vault/v1/keys/" + tn.key,
		"/uam/v1/tenants/" + tn.id + "/users/" + tn.user,
		"/uam/v1/tenants/" + tn.id + "/users/" + tn.user + "/profile",
		"/uam/v1/tenants/" + tn.id + "/users/" + tn.user + "/roles",
		"/uam/v1/tenants/" + tn.id + "/roles/" + tn.role,
		"/uam/v1/tenants/" + tn.id + "/permissions/" + tn.permission,
		"/iam/v1/tenants/" + tn.id + "/clients/" + tn.client,
		"/content/v1/tenants/" + tn.id + "/sites/" + tn.site + "/settings",
		"/content/v1/tenants/" + tn.id + "/sites/" + tn.site + "/items/" + tn.item,
		"/content/v1/tenants/" + tn.id + "/sites/" + tn.site + "/items/" + tn.item + "/revisions",
		"/content/v1/sites/" + tn.site + "/published/page/" + tn.itemSlug,
	} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", p.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tn.adminToken)
		code, body := do(t, req)
		if code != http.StatusOK {
			t.Fatalf("snapshot %s: %d %s", path, code, body)
		}
		fmt.Fprintf(&out, "%s %s\n", path, body)
	}
	return out.String()
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
