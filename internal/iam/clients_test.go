package iam_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	client "github.com/saasplatform/saas/gen/client/iam"
	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestClientRegistry(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	admin := bearer(e.admin)

	r, err := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "  deploy bot ", Scopes: []string{"sites:read"}}, admin)
	if err != nil || r.JSON201 == nil {
		t.Fatalf("create: %v %d %s", err, r.StatusCode(), r.Body)
	}
	c := r.JSON201
	if c.Name != "deploy bot" || c.TenantId != tenant || !c.IsActive || len(c.ClientSecret) != 43 ||
		!slices.Equal(c.Scopes, []string{"sites:read"}) {
		t.Errorf("created %+v", c)
	}
	loc := r.HTTPResponse.Header.Get("Location")
	if loc != "/iam/v1/tenants/"+tenant.String()+"/clients/"+c.ClientId.String() || r.HTTPResponse.Header.Get("ETag") != `"v1"` ||
		r.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", r.HTTPResponse.Header)
	}

	var found bool
	if err := e.p.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM iam.clients t WHERE strpos(t::text, $1) > 0)`,
		c.ClientSecret).Scan(&found); err != nil || found {
		t.Errorf("the secret is stored (found=%v, err=%v)", found, err)
	}

	g, _ := e.iam.GetClientWithResponse(ctx, tenant, c.ClientId, admin)
	if g.JSON200 == nil || g.JSON200.Name != "deploy bot" || strings.Contains(string(g.Body), "secret\"") ||
		g.HTTPResponse.Header.Get("ETag") != `"v1"` {
		t.Errorf("get: %d %s", g.StatusCode(), g.Body)
	}
	if g, _ := e.iam.GetClientWithResponse(ctx, e.tenant(), c.ClientId, admin); g.StatusCode() != http.StatusNotFound {
		t.Errorf("under another tenant: %d", g.StatusCode())
	}

	stale := `"v9"`
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, &client.UpdateClientParams{IfMatch: &stale},
		client.ClientUpdate{Name: ptr("x")}, admin); u.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", u.StatusCode(), u.Body)
	}
	current := `"v1"`
	u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, &client.UpdateClientParams{IfMatch: &current},
		client.ClientUpdate{Name: ptr("bot"), Scopes: &[]string{}}, admin)
	if u.JSON200 == nil || u.JSON200.Name != "bot" || len(u.JSON200.Scopes) != 0 || u.HTTPResponse.Header.Get("ETag") != `"v2"` {
		t.Errorf("update: %d %s", u.StatusCode(), u.Body)
	}
	for name, body := range map[string]client.ClientUpdate{
		"blank name":   {Name: ptr("   ")},
		"control char": {Name: ptr("a\u0007b")},
	} {
		if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, nil, body, admin); u.StatusCode() != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, u.StatusCode(), u.Body)
		}
	}

	// Pages, oldest first.
	var ids []uuid.UUID
	ids = append(ids, c.ClientId)
	for range 4 {
		ids = append(ids, e.registerClient(tenant).ClientId)
	}
	var listed []uuid.UUID
	var cursor *string
	for {
		l, _ := e.iam.ListClientsWithResponse(ctx, tenant, &client.ListClientsParams{Limit: ptr(2), Cursor: cursor}, admin)
		if l.JSON200 == nil {
			t.Fatalf("list: %d %s", l.StatusCode(), l.Body)
		}
		for _, item := range l.JSON200.Items {
			listed = append(listed, item.ClientId)
		}
		if cursor = l.JSON200.NextCursor; cursor == nil {
			break
		}
	}
	if !slices.Equal(listed, ids) {
		t.Errorf("listed %v, want %v", listed, ids)
	}
	if l, _ := e.iam.ListClientsWithResponse(ctx, uuid.Must(uuid.NewV7()), nil, admin); l.StatusCode() != http.StatusNotFound {
		t.Errorf("list of an unknown tenant: %d", l.StatusCode())
	}
	if r, _ := e.iam.CreateClientWithResponse(ctx, uuid.Must(uuid.NewV7()), client.ClientCreate{Name: "x", Scopes: []string{}}, admin); r.StatusCode() != http.StatusNotFound {
		t.Errorf("create in an unknown tenant: %d", r.StatusCode())
	}

	if d, _ := e.iam.DeleteClientWithResponse(ctx, tenant, c.ClientId, &client.DeleteClientParams{IfMatch: &current}, admin); d.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("delete with a stale ETag: %d", d.StatusCode())
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, tenant, c.ClientId, nil, admin); d.StatusCode() != http.StatusNoContent {
		t.Errorf("delete: %d %s", d.StatusCode(), d.Body)
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, tenant, c.ClientId, nil, admin); d.StatusCode() != http.StatusNotFound {
		t.Errorf("delete again: %d", d.StatusCode())
	}
}

// A client holds only what its registrar holds tenant-wide, never a
// service-only permission; taking its secret needs all it holds.
func TestClientScopesAreBoundByTheCaller(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	registrar := e.role(tenant, "registrar", "clients:read", "clients:write", "sites:read")
	e.user(tenant, "reg@example.com", registrar)
	regUser := e.user(tenant, "site@example.com", registrar)
	e.assign(tenant, regUser, editorRole, &site) // content:write on one site only
	reg := bearer(e.signIn(tenant, "reg@example.com").AccessToken)
	siteReg := bearer(e.signIn(tenant, "site@example.com").AccessToken)

	r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "ok", Scopes: []string{"sites:read"}}, reg)
	if r.JSON201 == nil {
		t.Fatalf("within the registrar's permissions: %d %s", r.StatusCode(), r.Body)
	}
	for name, tc := range map[string]struct {
		scopes []string
		status int
	}{
		"more than the registrar has": {[]string{"sites:read", "users:write"}, http.StatusForbidden},
		"a platform-level permission": {[]string{"tenants:write"}, http.StatusBadRequest},
		"a service-only permission":   {[]string{"credentials:verify"}, http.StatusBadRequest},
	} {
		r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "x", Scopes: tc.scopes}, reg)
		if r.StatusCode() != tc.status {
			t.Errorf("%s: %d %s", name, r.StatusCode(), r.Body)
		}
	}
	// A permission held on one site only does not count.
	if r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "x", Scopes: []string{"content:write"}}, siteReg); r.StatusCode() != http.StatusForbidden {
		t.Errorf("a site-scoped permission: %d %s", r.StatusCode(), r.Body)
	}
	// The platform administrator's service-only grants are refused too.
	if r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "x", Scopes: []string{"tokens:sign"}}, bearer(e.admin)); r.StatusCode() != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "body.scopes.0") {
		t.Errorf("tokens:sign by the administrator: %d %s", r.StatusCode(), r.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, r.JSON201.ClientId, nil, client.ClientUpdate{Scopes: &[]string{"users:read"}}, reg); u.StatusCode() != http.StatusForbidden {
		t.Errorf("widening by update: %d %s", u.StatusCode(), u.Body)
	}

	// A client the administrator registered with more than the registrar
	// has: the registrar may rename or delete it, not take its secret.
	strong := e.registerClient(tenant, "users:write")
	if s, _ := e.iam.RotateClientSecretWithResponse(ctx, tenant, strong.ClientId, nil, reg); s.StatusCode() != http.StatusForbidden {
		t.Errorf("taking a stronger client's secret: %d %s", s.StatusCode(), s.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, strong.ClientId, nil, client.ClientUpdate{Name: ptr("renamed")}, reg); u.JSON200 == nil {
		t.Errorf("renaming it: %d %s", u.StatusCode(), u.Body)
	}
	// Without clients:write nothing at all, and another tenant's clients
	// are not found.
	e.user(tenant, "view@example.com", viewerRole)
	if r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "x", Scopes: []string{}},
		bearer(e.signIn(tenant, "view@example.com").AccessToken)); r.StatusCode() != http.StatusForbidden {
		t.Errorf("a viewer registering: %d", r.StatusCode())
	}
	if l, _ := e.iam.ListClientsWithResponse(ctx, e.tenant(), nil, reg); l.StatusCode() != http.StatusNotFound {
		t.Errorf("another tenant's list: %d", l.StatusCode())
	}
}

// A registrar who holds all of a client's permissions takes its secret.
// When another administrator widens the client between the check and the
// new secret, the secret is not issued (412): the write applies only to the
// version that was checked. The race is made certain by holding the row's
// lock until the rotation waits for it.
func TestSecretRotationPinsTheVersionItChecked(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "reg@example.com", e.role(tenant, "registrar", "clients:write", "sites:read"))
	reg := bearer(e.signIn(tenant, "reg@example.com").AccessToken)
	c := e.registerClient(tenant, "sites:read")

	tx, err := e.p.Pool.Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM iam.clients WHERE id = $1 FOR UPDATE`, c.ClientId)
	must(t, err)

	answer := make(chan *client.RotateClientSecretResponse, 1)
	go func() {
		r, _ := e.iam.RotateClientSecretWithResponse(ctx, tenant, c.ClientId, nil, reg)
		answer <- r
	}()
	e.waitForLockWaiter(`%UPDATE iam.clients%`)
	_, err = tx.Exec(ctx, `UPDATE iam.clients SET scopes = '{sites:read,users:write}', version = version + 1 WHERE id = $1`, c.ClientId)
	must(t, err)
	must(t, tx.Commit(ctx))

	r := <-answer
	if r == nil || r.StatusCode() != http.StatusPreconditionFailed {
		t.Fatalf("rotation racing a widening: %d %s", r.StatusCode(), r.Body)
	}
	// Rotating what is there now needs users:write.
	if r, _ := e.iam.RotateClientSecretWithResponse(ctx, tenant, c.ClientId, nil, reg); r.StatusCode() != http.StatusForbidden {
		t.Errorf("rotation after the widening: %d %s", r.StatusCode(), r.Body)
	}
}

// waitForLockWaiter returns once a statement like pattern waits for a lock in
// the test's database.
func (e *env) waitForLockWaiter(pattern string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		must(e.t, e.p.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("no statement like %q came to wait for the lock", pattern)
}

// Reactivating a client gives its permissions back to whoever holds its
// secret: it needs them all, as taking the secret does. Deactivating needs
// none, and neither does a change that leaves the client inactive.
func TestReactivatingAClientNeedsItsPermissions(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "reg@example.com", e.role(tenant, "registrar", "clients:write", "sites:read"))
	reg := bearer(e.signIn(tenant, "reg@example.com").AccessToken)
	strong := e.registerClient(tenant, "users:write")
	weak := e.registerClient(tenant, "sites:read")

	for _, c := range []client.ClientWithSecret{strong, weak} {
		if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, nil, client.ClientUpdate{IsActive: ptr(false)}, reg); u.JSON200 == nil {
			t.Fatalf("deactivating: %d %s", u.StatusCode(), u.Body)
		}
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, strong.ClientId, nil, client.ClientUpdate{IsActive: ptr(true)}, reg); u.StatusCode() != http.StatusForbidden {
		t.Errorf("reviving a stronger client: %d %s", u.StatusCode(), u.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, strong.ClientId, nil, client.ClientUpdate{Name: ptr("parked")}, reg); u.JSON200 == nil || u.JSON200.IsActive {
		t.Errorf("renaming it: %d %s", u.StatusCode(), u.Body)
	}
	// Narrowing to what the registrar holds makes reviving it fine.
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, strong.ClientId, nil, client.ClientUpdate{IsActive: ptr(true), Scopes: &[]string{"sites:read"}}, reg); u.JSON200 == nil || !u.JSON200.IsActive {
		t.Errorf("reviving it narrowed: %d %s", u.StatusCode(), u.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, weak.ClientId, nil, client.ClientUpdate{IsActive: ptr(true)}, reg); u.JSON200 == nil || !u.JSON200.IsActive {
		t.Errorf("reviving a client within the registrar's permissions: %d %s", u.StatusCode(), u.Body)
	}
}

// Platform-level permissions act across tenants: only the platform tenant's
// clients may hold them, whoever registers the client (UAM refuses them to
// other tenants' roles alike).
func TestPlatformPermissionsOnlyForThePlatformTenantsClients(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	r, _ := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "x", Scopes: []string{"sites:read", "tenants:write"}}, bearer(e.admin))
	if r.StatusCode() != http.StatusBadRequest || !strings.Contains(string(r.Body), "body.scopes.1") {
		t.Errorf("tenants:write for a tenant's client: %d %s", r.StatusCode(), r.Body)
	}
	c := e.registerClient(tenant, "sites:read")
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, nil, client.ClientUpdate{Scopes: &[]string{"tenants:write"}}, bearer(e.admin)); u.StatusCode() != http.StatusBadRequest {
		t.Errorf("widening to tenants:write: %d %s", u.StatusCode(), u.Body)
	}
	if r, _ := e.iam.CreateClientWithResponse(ctx, e.p.PlatformTenantID, client.ClientCreate{Name: "ops", Scopes: []string{"tenants:write"}}, bearer(e.admin)); r.JSON201 == nil {
		t.Errorf("tenants:write for a platform client: %d %s", r.StatusCode(), r.Body)
	}
}

// Taking a platform-level permission away from a client, by narrowing its
// scopes or deleting it, needs holding it, as giving it does: a platform
// member with clients:write alone cannot disarm the platform's operator
// clients. Tenant-level scopes stay the ordinary rules' business.
func TestOnlyHoldersTakePlatformScopesFromClients(t *testing.T) {
	e := newEnv(t)
	platform := e.p.PlatformTenantID
	r, _ := e.iam.CreateClientWithResponse(ctx, platform, client.ClientCreate{Name: "ops", Scopes: []string{"tenants:write", "clients:read"}}, bearer(e.admin))
	if r.JSON201 == nil {
		t.Fatalf("registering the operator client: %d %s", r.StatusCode(), r.Body)
	}
	ops := r.JSON201.ClientId
	e.user(platform, "clerk@example.com", e.role(platform, "ClientClerk", "clients:read", "clients:write"))
	clerk := bearer(e.signIn(platform, "clerk@example.com").AccessToken)

	narrow := []string{"clients:read"}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, platform, ops, nil, client.ClientUpdate{Scopes: &narrow}, clerk); u.StatusCode() != http.StatusForbidden ||
		!strings.Contains(string(u.Body), "tenants:write") {
		t.Errorf("a non-holder narrows the operator client: %d %s", u.StatusCode(), u.Body)
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, platform, ops, nil, clerk); d.StatusCode() != http.StatusForbidden {
		t.Errorf("a non-holder deletes the operator client: %d %s", d.StatusCode(), d.Body)
	}
	plain := e.registerClient(platform, "clients:read")
	if d, _ := e.iam.DeleteClientWithResponse(ctx, platform, plain.ClientId, nil, clerk); d.StatusCode() != http.StatusNoContent {
		t.Errorf("a non-holder deletes a client without platform scopes: %d %s", d.StatusCode(), d.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, platform, ops, nil, client.ClientUpdate{Scopes: &narrow}, bearer(e.admin)); u.JSON200 == nil {
		t.Errorf("a holder narrows the operator client: %d %s", u.StatusCode(), u.Body)
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, platform, ops, nil, clerk); d.StatusCode() != http.StatusNoContent {
		t.Errorf("deleting the client once it holds no platform scope: %d %s", d.StatusCode(), d.Body)
	}
}

// authn.PlatformPermissions is UAM's catalogue of platform-level
// permissions.
func TestPlatformPermissionsAreUAMsPlatformLevel(t *testing.T) {
	e := newEnv(t)
	rows, err := e.p.Pool.Query(ctx, `SELECT name FROM uam.permissions WHERE level = 'platform' ORDER BY name`)
	must(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	want := slices.Sorted(slices.Values(authn.PlatformPermissions()))
	if !slices.Equal(names, want) {
		t.Errorf("UAM's platform-level permissions %v, authn.PlatformPermissions() %v", names, want)
	}
}

// A client's scopes are bounded as a whole, so that the access token of a
// client holding them all fits authn.MaxTokenSize.
func TestClientScopesAreBoundedAsAWhole(t *testing.T) {
	t.Parallel()
	long := make([]string, 200)
	for i := range long {
		long[i] = fmt.Sprintf("p%063d:a%063d", i, i) // 129 characters, as long as a permission name gets
	}
	_, err := iam.ParseClientChange(iam.ClientChange{Scopes: &long})
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid || len(pe.Fields) != 1 || pe.Fields[0].Field != "body.scopes" {
		t.Fatalf("200 scopes of 129 characters: %v", err)
	}
	fits := long[:31] // 31*130-1 = 4029 bytes
	if _, err := iam.ParseClientChange(iam.ClientChange{Scopes: &fits}); err != nil {
		t.Errorf("31 scopes: %v", err)
	}
}
