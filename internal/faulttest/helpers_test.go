package faulttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/app/apptest"
)

// raceEnabled is set by race_test.go when the tests run with -race.
var raceEnabled bool

// answer is one HTTP exchange as the client saw it.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	latency time.Duration
}

func (a answer) String() string {
	b := a.body
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return fmt.Sprintf("%d %s %s", a.status, a.header.Get("Content-Type"), b)
}

// json decodes the body into a map (nil if it is no JSON object).
func (a answer) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.body, &m)
	return m
}

// str is a string member of the body, "" if there is none.
func (a answer) str(name string) string {
	s, _ := a.json()[name].(string)
	return s
}

// send makes one request with client (nil: a client of its own that keeps
// no connection), a JSON body when body is not empty, a bearer token when
// token is not empty, and further headers as name, value pairs. Only a
// failure to get an answer at all is an error.
func send(ctx context.Context, client *http.Client, method, url, token, body string, header ...string) (answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{latency: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b, latency: time.Since(start)}
	return a, err
}

// mustSend is send that fails the test when no answer comes.
func mustSend(t testing.TB, method, url, token, body string, header ...string) answer {
	t.Helper()
	a, err := send(context.Background(), nil, method, url, token, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

// created sends a request that must answer 2xx and returns its body's id.
func created(t testing.TB, method, url, token, body string) string {
	t.Helper()
	a := mustSend(t, method, url, token, body)
	if a.status/100 != 2 {
		t.Fatalf("%s %s: %s", method, url, a)
	}
	return a.str("id")
}

// login signs in through IAM at base and returns the access token.
func login(t testing.TB, base string, tenant *uuid.UUID, email, password string) string {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if tenant != nil {
		body["tenant_id"] = tenant.String()
	}
	b, _ := json.Marshal(body)
	a := mustSend(t, "POST", base+"/iam/v1/auth/login", "", string(b))
	if a.status != http.StatusOK || a.str("access_token") == "" {
		t.Fatalf("login as %s: %s", email, a)
	}
	return a.str("access_token")
}

// isProblem tells an RFC 9457 problem document of the given status.
func isProblem(a answer, status int) bool {
	if a.status != status || a.header.Get("Content-Type") != "application/problem+json" {
		return false
	}
	p := a.json()
	s, _ := p["status"].(float64)
	return int(s) == status && p["type"] != nil && p["title"] != nil
}

// freeAddr is a loopback address nothing listens on (for a moment).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tenantFixture is a tenant with one of each resource, made through the
// APIs by the platform administrator.
type tenantFixture struct {
	id, site, key, user, role, permission, client, item, itemSlug string
}

// fixturePassword is the password of the fixture tenant's user.
const fixturePassword = "a long and unusual fixture passphrase"

func newTenantFixture(t testing.TB, p *apptest.Platform, admin, name string) tenantFixture {
	t.Helper()
	var f tenantFixture
	f.id = created(t, "POST", p.URL+"/config-vault/v1/tenants", admin, `{"name":"`+name+`","domain":"`+name+`.example.com"}`)
	f.site = created(t, "POST", p.URL+"/config-vault/v1/sites", admin, `{"tenant_id":"`+f.id+`","name":"www","domain":"www.`+name+`.example.com"}`)
	f.key = created(t, "POST", p.URL+"/config-vault/v1/keys", admin, `{"tenant_id":"`+f.id+`","algorithm":"ES256"}`)
	users := p.URL + "/uam/v1/tenants/" + f.id
	f.user = created(t, "POST", users+"/users", admin, `{"email":"editor@`+name+`.example.com","password":"`+fixturePassword+`"}`)
	f.role = created(t, "POST", users+"/roles", admin, `{"name":"auditor","permissions":["users:read"]}`)
	if a := mustSend(t, "PUT", users+"/users/"+f.user+"/roles/"+f.role, admin, ""); a.status/100 != 2 {
		t.Fatalf("assign role: %s", a)
	}
	a := mustSend(t, "POST", users+"/permissions", admin, `{"name":"`+name+`:read","description":"Read `+name+`."}`)
	if a.status != http.StatusCreated {
		t.Fatalf("create permission: %s", a)
	}
	f.permission = a.str("name")
	a = mustSend(t, "POST", p.URL+"/iam/v1/tenants/"+f.id+"/clients", admin, `{"name":"ci","scopes":["users:read"]}`)
	if a.status != http.StatusCreated {
		t.Fatalf("create client: %s", a)
	}
	f.client = a.str("client_id")
	items := p.URL + "/content/v1/tenants/" + f.id + "/sites/" + f.site + "/items"
	f.itemSlug = name + "-home"
	f.item = created(t, "POST", items, admin, `{"type":"page","slug":"`+f.itemSlug+`","title":"`+name+` home","body":"Welcome."}`)
	if a := mustSend(t, "POST", items+"/"+f.item+"/publish", admin, ""); a.status != http.StatusOK {
		t.Fatalf("publish: %s", a)
	}
	return f
}

// waitFor polls cond every 20 ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// checkCommitted fails the test for every id of ids (by table) that the
// database does not hold.
func checkCommitted(t testing.TB, pool *pgxpool.Pool, ids map[string][]string) {
	t.Helper()
	total := 0
	for table, list := range ids {
		rows, err := pool.Query(context.Background(), "SELECT id::text FROM "+table+" WHERE id = ANY($1::uuid[])", list)
		if err != nil {
			t.Fatal(err)
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range list {
			if !slices.Contains(found, id) {
				t.Errorf("%s %s was answered 201 but is not in the database", table, id)
			}
		}
		total += len(list)
	}
	if total == 0 {
		t.Error("no write was answered 201: the test proved nothing about committed writes")
	}
}
