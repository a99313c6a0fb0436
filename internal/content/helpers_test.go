package content_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	contentapi "github.com/saasplatform/saas/gen/api/content"
	client "github.com/saasplatform/saas/gen/client/content"
	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/content"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

const password = "a long and unusual test passphrase"

// Built-in roles (schema/uam): the same ids in every tenant.
const (
	tenantAdminRole = "00000000-0000-7000-8000-000000000201"
	editorRole      = "00000000-0000-7000-8000-000000000202"
)

// env is a running platform with one tenant of two sites, whose
// administrator acts through c.
type env struct {
	t      testing.TB
	p      *apptest.Platform
	admin  string // the platform administrator's token
	tenant uuid.UUID
	site   uuid.UUID
	site2  uuid.UUID
	token  string // the tenant administrator's token
	c      *client.ClientWithResponses
}

var seq atomic.Int64

func newEnv(t testing.TB) *env {
	t.Helper()
	// The scheduler looks for due publications every 50 ms here, so that the
	// tests of scheduled publishing wait for it briefly; everything else is
	// the platform as `saas serve` runs it.
	p := apptest.StartWith(t, apptest.Options{Configure: func(c *app.Config) {
		c.Content.SchedulerInterval = 50 * time.Millisecond
	}})
	e := &env{t: t, p: p, admin: p.AdminToken(t)}
	e.tenant, e.site, e.site2, e.token = e.newTenant("t")
	e.c = e.client(e.token)
	return e
}

// newTenant creates a tenant with two sites and an administrator, and signs
// the administrator in.
func (e *env) newTenant(prefix string) (tenant, site, site2 uuid.UUID, token string) {
	e.t.Helper()
	name := fmt.Sprintf("%s%d-%d", prefix, seq.Add(1), time.Now().UnixNano()%1e6)
	tenant = uuid.MustParse(e.call(e.admin, "POST", "/config-vault/v1/tenants",
		`{"name":"`+name+`","domain":"`+name+`.example.com"}`)["id"].(string))
	site = uuid.MustParse(e.call(e.admin, "POST", "/config-vault/v1/sites",
		`{"tenant_id":"`+tenant.String()+`","name":"www","domain":"www.`+name+`.example.com"}`)["id"].(string))
	site2 = uuid.MustParse(e.call(e.admin, "POST", "/config-vault/v1/sites",
		`{"tenant_id":"`+tenant.String()+`","name":"blog","domain":"blog.`+name+`.example.com"}`)["id"].(string))
	token = e.newUser(tenant, "admin@"+name+".example.com", tenantAdminRole, nil)
	return tenant, site, site2, token
}

// newUser creates a user of tenant holding role (on site only, when given)
// and signs them in.
func (e *env) newUser(tenant uuid.UUID, email, role string, site *uuid.UUID) string {
	e.t.Helper()
	users := "/uam/v1/tenants/" + tenant.String() + "/users"
	user := e.call(e.admin, "POST", users, `{"email":"`+email+`","password":"`+password+`"}`)["id"].(string)
	assign := users + "/" + user + "/roles/" + role
	if site != nil {
		assign += "?site_id=" + site.String()
	}
	e.call(e.admin, "PUT", assign, "")
	token, _ := e.p.Login(e.t, &tenant, email, password)
	return token
}

// call is a plain request for setting up other services' resources.
func (e *env) call(token, method, path, body string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.p.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// client is a content client acting with token, holding every answer to
// the spec.
func (e *env) client(token string) *client.ClientWithResponses {
	e.t.Helper()
	c, err := client.NewClientWithResponses(e.p.URL+content.Prefix,
		client.WithHTTPClient(e.transport().Client()), client.WithRequestEditorFn(apptest.Bearer(token)))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) transport() *contract.Transport {
	spec, err := contentapi.GetSwagger()
	if err != nil {
		e.t.Fatal(err)
	}
	return contract.NewTransport(e.t, spec, content.Prefix)
}

// raw sends a request as built, through the contract check, with token.
func (e *env) raw(token string, req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.transport().Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func (e *env) itemsURL(site uuid.UUID) string {
	return e.p.URL + content.Prefix + "/tenants/" + e.tenant.String() + "/sites/" + site.String() + "/items"
}

// create makes an item in the first site and fails the test unless 201.
func (e *env) create(body client.ItemCreate) client.Item {
	e.t.Helper()
	return e.createIn(e.site, body)
}

func (e *env) createIn(site uuid.UUID, body client.ItemCreate) client.Item {
	e.t.Helper()
	r, err := e.c.CreateItemWithResponse(ctx(), e.tenant, site, nil, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.JSON201 == nil {
		e.t.Fatalf("create %s: %d %s", body.Slug, r.StatusCode(), r.Body)
	}
	return *r.JSON201
}

func (e *env) get(id uuid.UUID) (client.Item, string) {
	e.t.Helper()
	r, err := e.c.GetItemWithResponse(ctx(), e.tenant, e.site, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.JSON200 == nil {
		e.t.Fatalf("get %s: %d %s", id, r.StatusCode(), r.Body)
	}
	return *r.JSON200, r.HTTPResponse.Header.Get("ETag")
}

func (e *env) update(id uuid.UUID, body client.ItemUpdate) client.Item {
	e.t.Helper()
	r, err := e.c.UpdateItemWithResponse(ctx(), e.tenant, e.site, id, nil, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.JSON200 == nil {
		e.t.Fatalf("update %s: %d %s", id, r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

func (e *env) publish(id uuid.UUID, at *time.Time) client.Item {
	e.t.Helper()
	r, err := e.c.PublishItemWithResponse(ctx(), e.tenant, e.site, id, nil, client.PublishRequest{PublishAt: at})
	if err != nil {
		e.t.Fatal(err)
	}
	if r.JSON200 == nil {
		e.t.Fatalf("publish %s: %d %s", id, r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

// live reads a live version through delivery: the item and its ETag, or
// the status when it is not 200.
func (e *env) live(slug string) (*client.PublishedItem, int) {
	e.t.Helper()
	r, err := e.c.GetPublishedWithResponse(ctx(), e.site, "page", slug, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.JSON200, r.StatusCode()
}

func ctx() context.Context { return context.Background() }

func ptr[T any](v T) *T { return &v }

// fields lists the field names of a problem's errors.
func fields(t testing.TB, body []byte) []string {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %s", body)
	}
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
