package configvault_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

func detail(p *client.Problem) string {
	if p == nil || p.Detail == nil {
		return ""
	}
	return *p.Detail
}

func TestInactiveSiteOrTenantHasNoActiveKeyAndPublishesNothing(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("owner")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	site := e.site(ten.Id, "site")
	tk := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	tenantJWKS := e.base + configvault.Prefix + "/tenants/" + ten.Id.String() + "/jwks.json"
	siteJWKS := e.base + configvault.Prefix + "/sites/" + site.Id.String() + "/jwks.json"
	off, on := false, true

	// An active site without keys of its own signs with its tenant's key.
	r, _ := e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, r.StatusCode(), 200, r.Body)
	if r.JSON200.Kid != tk.Kid || kidsOf(e.jwks(siteJWKS)) != tk.Kid {
		t.Fatalf("active site: key %s, JWKS %q; want the tenant's key %s", r.JSON200.Kid, kidsOf(e.jwks(siteJWKS)), tk.Kid)
	}

	// Inactive, it gets no key at all: not even its tenant's.
	upd, _ := e.c.UpdateSiteWithResponse(ctx, site.Id, nil, client.SiteUpdate{IsActive: &off})
	status(t, upd.StatusCode(), 200, upd.Body)
	r, _ = e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, r.StatusCode(), 404, r.Body)
	if want := fmt.Sprintf("site %s is inactive, so it has no active key", site.Id); detail(r.ApplicationproblemJSON404) != want {
		t.Fatalf("detail %q, want %q", detail(r.ApplicationproblemJSON404), want)
	}
	js, _ := e.c.GetSiteJWKSWithResponse(ctx, site.Id)
	status(t, js.StatusCode(), 200, js.Body)
	if js.JSON200.Keys == nil || len(js.JSON200.Keys) != 0 {
		t.Fatalf("an inactive site publishes %s", js.Body)
	}
	// Its own key, too, is neither used nor published.
	sk := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: ptr(client.EdDSA)})
	r, _ = e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, r.StatusCode(), 404, r.Body)
	if got := kidsOf(e.jwks(siteJWKS)); got != "" {
		t.Fatalf("an inactive site publishes %q", got)
	}
	// The tenant is not affected.
	ta, _ := e.c.GetTenantActiveKeyWithResponse(ctx, ten.Id)
	status(t, ta.StatusCode(), 200, ta.Body)
	if ta.JSON200.Kid != tk.Kid || kidsOf(e.jwks(tenantJWKS)) != tk.Kid {
		t.Fatalf("tenant: key %s, JWKS %q", ta.JSON200.Kid, kidsOf(e.jwks(tenantJWKS)))
	}

	// Active again, the site signs with its own key and publishes both.
	e.c.UpdateSiteWithResponse(ctx, site.Id, nil, client.SiteUpdate{IsActive: &on})
	r, _ = e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, r.StatusCode(), 200, r.Body)
	if r.JSON200.Kid != sk.Kid || kidsOf(e.jwks(siteJWKS)) != tk.Kid+","+sk.Kid {
		t.Fatalf("reactivated site: key %s, JWKS %q", r.JSON200.Kid, kidsOf(e.jwks(siteJWKS)))
	}

	// An inactive tenant: no key for it or its active site, nothing published.
	e.c.UpdateTenantWithResponse(ctx, ten.Id, nil, client.TenantUpdate{IsActive: &off})
	ta, _ = e.c.GetTenantActiveKeyWithResponse(ctx, ten.Id)
	status(t, ta.StatusCode(), 404, ta.Body)
	if want := fmt.Sprintf("tenant %s is inactive, so it has no active key", ten.Id); detail(ta.ApplicationproblemJSON404) != want {
		t.Fatalf("detail %q, want %q", detail(ta.ApplicationproblemJSON404), want)
	}
	r, _ = e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, r.StatusCode(), 404, r.Body)
	if want := fmt.Sprintf("the tenant of site %s is inactive, so the site has no active key", site.Id); detail(r.ApplicationproblemJSON404) != want {
		t.Fatalf("detail %q, want %q", detail(r.ApplicationproblemJSON404), want)
	}
	if got := kidsOf(e.jwks(siteJWKS)) + kidsOf(e.jwks(tenantJWKS)); got != "" {
		t.Fatalf("an inactive tenant publishes %q", got)
	}
}

func TestNotFoundDetailsReadNaturally(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("empty")
	site := e.site(ten.Id, "empty")
	ta, _ := e.c.GetTenantActiveKeyWithResponse(ctx, ten.Id)
	status(t, ta.StatusCode(), 404, ta.Body)
	if want := fmt.Sprintf("tenant %s has no active, unexpired tenant-level key", ten.Id); detail(ta.ApplicationproblemJSON404) != want {
		t.Fatalf("detail %q, want %q", detail(ta.ApplicationproblemJSON404), want)
	}
	sa, _ := e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	status(t, sa.StatusCode(), 404, sa.Body)
	if want := fmt.Sprintf("neither site %s nor its tenant has an active, unexpired key", site.Id); detail(sa.ApplicationproblemJSON404) != want {
		t.Fatalf("detail %q, want %q", detail(sa.ApplicationproblemJSON404), want)
	}
	missing := uuid.Must(uuid.NewV7())
	for _, tc := range []struct {
		got  *client.Problem
		want string
	}{
		{must(e.c.GetTenantWithResponse(ctx, missing)).ApplicationproblemJSON404, "tenant " + missing.String() + " not found"},
		{must(e.c.GetSiteActiveKeyWithResponse(ctx, missing)).ApplicationproblemJSON404, "site " + missing.String() + " not found"},
		{must(e.c.GetKeyWithResponse(ctx, "no-such-kid")).ApplicationproblemJSON404, "key no-such-kid not found"},
	} {
		if detail(tc.got) != tc.want {
			t.Errorf("detail %q, want %q", detail(tc.got), tc.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// expire moves a key's expiry into the past, as time would.
func (e *env) expire(id uuid.UUID) {
	e.t.Helper()
	if _, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		e.t.Fatal(err)
	}
}

func TestExpiredKeysReadAsExpired(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("expiry")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	site := e.site(ten.Id, "expiry")
	es := ptr(client.ES256)
	live := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: es})
	expiredActive := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: es})
	expiredInactive := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: es})
	expiredRevoked := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: es})
	liveInactive := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: es})
	for _, k := range []client.SigningKey{expiredInactive, liveInactive} {
		r, _ := e.c.DeactivateKeyWithResponse(ctx, k.Kid, nil)
		status(t, r.StatusCode(), 200, r.Body)
	}
	r, _ := e.c.RevokeKeyWithResponse(ctx, expiredRevoked.Kid, nil)
	status(t, r.StatusCode(), 200, r.Body)
	for _, k := range []client.SigningKey{expiredActive, expiredInactive, expiredRevoked} {
		e.expire(k.Id)
	}

	want := map[string]client.KeyStatus{
		live.Kid: client.Active, expiredActive.Kid: client.Expired, expiredInactive.Kid: client.Expired,
		expiredRevoked.Kid: client.Revoked, liveInactive.Kid: client.Inactive,
	}
	for kid, st := range want {
		g, _ := e.c.GetKeyWithResponse(ctx, kid)
		status(t, g.StatusCode(), 200, g.Body)
		if g.JSON200.Status != st {
			t.Errorf("key %s reads %s, want %s", kid, g.JSON200.Status, st)
		}
	}

	list := func(st *client.KeyStatus, siteID *uuid.UUID) string {
		t.Helper()
		var kids []string
		var items []client.SigningKey
		if siteID != nil {
			r, _ := e.c.ListSiteKeysWithResponse(ctx, *siteID, &client.ListSiteKeysParams{Status: st})
			status(t, r.StatusCode(), 200, r.Body)
			items = r.JSON200.Items
		} else {
			r, _ := e.c.ListTenantKeysWithResponse(ctx, ten.Id, &client.ListTenantKeysParams{Status: st})
			status(t, r.StatusCode(), 200, r.Body)
			items = r.JSON200.Items
		}
		for _, k := range items {
			if k.Status != want[k.Kid] {
				t.Errorf("listed key %s reads %s, want %s", k.Kid, k.Status, want[k.Kid])
			}
			if st != nil && k.Status != *st {
				t.Errorf("status=%s listed a key that reads %s", *st, k.Status)
			}
			kids = append(kids, k.Kid)
		}
		return strings.Join(kids, ",")
	}
	join := func(keys ...client.SigningKey) string {
		var kids []string
		for _, k := range keys {
			kids = append(kids, k.Kid)
		}
		return strings.Join(kids, ",")
	}
	for _, tc := range []struct {
		status *client.KeyStatus
		site   *uuid.UUID
		want   string
	}{
		{nil, nil, join(live, expiredActive, expiredInactive, expiredRevoked, liveInactive)},
		{ptr(client.Active), nil, join(live)},
		{ptr(client.Expired), nil, join(expiredActive, expiredInactive)},
		{ptr(client.Inactive), nil, join(liveInactive)},
		{ptr(client.Revoked), nil, join(expiredRevoked)},
		{ptr(client.Active), &site.Id, ""},
		{ptr(client.Expired), &site.Id, join(expiredActive)},
		{ptr(client.Revoked), &site.Id, join(expiredRevoked)},
	} {
		if got := list(tc.status, tc.site); got != tc.want {
			st := "(any)"
			if tc.status != nil {
				st = string(*tc.status)
			}
			t.Errorf("status=%s site-level only=%v: %q, want %q", st, tc.site != nil, got, tc.want)
		}
	}
	resp, doc := e.raw("GET", configvault.Prefix+"/tenants/"+ten.Id.String()+"/keys?status=stale", "", "")
	if resp.StatusCode != 400 || !containsStr(fields(doc), "query.status") {
		t.Fatalf("unknown status: %d %v", resp.StatusCode, doc)
	}

	// An expired key cannot be activated even though its stored state is
	// active; deactivating it is allowed, and it still reads as expired.
	a, _ := e.c.ActivateKeyWithResponse(ctx, expiredActive.Kid, nil)
	status(t, a.StatusCode(), 409, a.Body)
	d, _ := e.c.DeactivateKeyWithResponse(ctx, expiredActive.Kid, nil)
	status(t, d.StatusCode(), 200, d.Body)
	if d.JSON200.Status != client.Expired {
		t.Fatalf("deactivated expired key reads %s", d.JSON200.Status)
	}
	rv, _ := e.c.RevokeKeyWithResponse(ctx, expiredInactive.Kid, nil)
	status(t, rv.StatusCode(), 200, rv.Body)
	if rv.JSON200.Status != client.Revoked {
		t.Fatalf("revoked expired key reads %s", rv.JSON200.Status)
	}
}

func TestConcurrentKeyStateChanges(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("race")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	const n = 10
	parallel := func(do func(i int) (int, *client.SigningKey)) ([]int, []*client.SigningKey) {
		keys := make([]*client.SigningKey, n)
		codes := testkit.Concurrently(n, func(i int) (code int) {
			code, keys[i] = do(i)
			return code
		})
		return codes, keys
	}
	version := func(kid string) string {
		g, _ := e.c.GetKeyWithResponse(ctx, kid)
		return g.HTTPResponse.Header.Get("ETag")
	}

	// Revocations without If-Match all succeed; one of them revoked the key.
	k := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	codes, keys := parallel(func(int) (int, *client.SigningKey) {
		r, err := e.c.RevokeKeyWithResponse(ctx, k.Kid, nil)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		return r.StatusCode(), r.JSON200
	})
	for i, c := range codes {
		if c != 200 || keys[i].Status != client.Revoked {
			t.Fatalf("parallel revokes: %v", codes)
		}
	}
	if v := version(k.Kid); v != `"v2"` {
		t.Fatalf("ETag %s after one revocation, want \"v2\"", v)
	}

	// Deactivations and activations without If-Match: each one is applied
	// or finds the key already in its target state, never a conflict.
	k = e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	codes, keys = parallel(func(i int) (int, *client.SigningKey) {
		if i%2 == 0 {
			d, err := e.c.DeactivateKeyWithResponse(ctx, k.Kid, nil)
			if err != nil {
				t.Error(err)
				return 0, nil
			}
			return d.StatusCode(), d.JSON200
		}
		a, err := e.c.ActivateKeyWithResponse(ctx, k.Kid, nil)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		return a.StatusCode(), a.JSON200
	})
	for i, c := range codes {
		want := client.Inactive
		if i%2 == 1 {
			want = client.Active
		}
		if c != 200 || keys[i].Status != want {
			t.Fatalf("parallel deactivate/activate: %v", codes)
		}
	}

	// With a client If-Match, the first change wins and the rest are stale.
	k = e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	tag := version(k.Kid)
	codes, _ = parallel(func(int) (int, *client.SigningKey) {
		r, err := e.c.RevokeKeyWithResponse(ctx, k.Kid, &client.RevokeKeyParams{IfMatch: &tag})
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		return r.StatusCode(), r.JSON200
	})
	if got := testkit.Tally(codes); got[200] != 1 || got[412] != n-1 {
		t.Fatalf("parallel revokes with If-Match %s: %v, want one 200 and the rest 412", tag, codes)
	}
}

func TestIfMatchListsAnyStrongTag(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("ifmatch")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	h := func(v string) *string { return &v }

	// Version 1: any listed strong tag naming it will do.
	r, _ := e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: h(`"v999", "v1"`)}, client.TenantUpdate{Name: ptr("two")})
	status(t, r.StatusCode(), 200, r.Body)
	if etag := r.HTTPResponse.Header.Get("ETag"); etag != `"v2"` {
		t.Fatalf("ETag %s after one update", etag)
	}
	// Weak tags never match, alone or in a list.
	for _, ifMatch := range []string{`W/"v2"`, `W/"v2", "v1"`, `"v1", W/"v2"`, `"v1", "v3"`} {
		r, _ = e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: &ifMatch}, client.TenantUpdate{Name: ptr("lost")})
		status(t, r.StatusCode(), 412, r.Body)
	}
	// What is not a list of entity tags is a client error, not a stale version.
	for _, ifMatch := range []string{`"v2" "v3"`, `v2`, `"v2`, `"v 2"`} {
		r, _ = e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: &ifMatch}, client.TenantUpdate{Name: ptr("lost")})
		status(t, r.StatusCode(), 400, r.Body)
	}
	// "*" is unconditional.
	r, _ = e.c.UpdateTenantWithResponse(ctx, ten.Id, &client.UpdateTenantParams{IfMatch: h("*")}, client.TenantUpdate{Name: ptr("three")})
	status(t, r.StatusCode(), 200, r.Body)
	got, _ := e.c.GetTenantWithResponse(ctx, ten.Id)
	if got.JSON200.Name != "three" {
		t.Fatalf("a refused change was applied: %s", got.Body)
	}

	// The same rule for sites, key state changes and deletes.
	site := e.site(ten.Id, "site")
	s, _ := e.c.UpdateSiteWithResponse(ctx, site.Id, &client.UpdateSiteParams{IfMatch: h(`"v7", "v1"`)}, client.SiteUpdate{Name: ptr("renamed")})
	status(t, s.StatusCode(), 200, s.Body)
	k := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	d, _ := e.c.DeactivateKeyWithResponse(ctx, k.Kid, &client.DeactivateKeyParams{IfMatch: h(`"v5", "v1"`)})
	status(t, d.StatusCode(), 200, d.Body)
	a, _ := e.c.ActivateKeyWithResponse(ctx, k.Kid, &client.ActivateKeyParams{IfMatch: h(`"v1", W/"v2"`)})
	status(t, a.StatusCode(), 412, a.Body)
	dk, _ := e.c.DeleteKeyWithResponse(ctx, k.Kid, &client.DeleteKeyParams{IfMatch: h(`"v1", "v3"`)})
	status(t, dk.StatusCode(), 412, dk.Body)
	dk, _ = e.c.DeleteKeyWithResponse(ctx, k.Kid, &client.DeleteKeyParams{IfMatch: h(`"v1", "v2"`)})
	status(t, dk.StatusCode(), 204, dk.Body)
	ds, _ := e.c.DeleteSiteWithResponse(ctx, site.Id, &client.DeleteSiteParams{IfMatch: h(`"v1", "v2"`)})
	status(t, ds.StatusCode(), 204, ds.Body)
	dt, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, &client.DeleteTenantParams{IfMatch: h(`"v1", "v2"`)})
	status(t, dt.StatusCode(), 412, dt.Body)
	dt, _ = e.c.DeleteTenantWithResponse(ctx, ten.Id, &client.DeleteTenantParams{IfMatch: h(`"v1", "v3"`)})
	status(t, dt.StatusCode(), 204, dt.Body)
}

func TestKeyForAnUnknownOwnerIsRefusedBeforeGenerating(t *testing.T) {
	e := newEnv(t)
	var generated atomic.Int64
	configvault.SetKeyGenerator(e.svc, func(spec keycrypto.Spec) (*keycrypto.Material, error) {
		generated.Add(1)
		return keycrypto.Generate(spec)
	})
	a, b := e.tenant("a"), e.tenant("b")
	siteOfB := e.site(b.Id, "b-site")
	unknown := uuid.Must(uuid.NewV7())
	rsa4096 := ptr(client.SigningKeyCreateKeySize(4096))
	for _, tc := range []struct {
		name  string
		body  client.SigningKeyCreate
		field string
	}{
		{"unknown tenant", client.SigningKeyCreate{TenantId: unknown, Algorithm: ptr(client.PS256), KeySize: rsa4096}, "body.tenant_id"},
		{"unknown tenant with a site", client.SigningKeyCreate{TenantId: unknown, SiteId: &siteOfB.Id, Algorithm: ptr(client.PS256), KeySize: rsa4096}, "body.tenant_id"},
		{"unknown site", client.SigningKeyCreate{TenantId: a.Id, SiteId: &unknown, Algorithm: ptr(client.PS256), KeySize: rsa4096}, "body.site_id"},
		{"site of another tenant", client.SigningKeyCreate{TenantId: a.Id, SiteId: &siteOfB.Id, Algorithm: ptr(client.PS256), KeySize: rsa4096}, "body.site_id"},
	} {
		r, err := e.c.CreateKeyWithResponse(ctx, nil, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		status(t, r.StatusCode(), 400, r.Body)
		if errs := r.ApplicationproblemJSON400.Errors; errs == nil || len(*errs) != 1 || (*errs)[0].Field != tc.field {
			t.Fatalf("%s: want %s named: %s", tc.name, tc.field, r.Body)
		}
		if n := generated.Load(); n != 0 {
			t.Fatalf("%s: %d key pairs generated before the owner was checked", tc.name, n)
		}
	}
	// The hook is live: a key for a real owner goes through it.
	e.key(client.SigningKeyCreate{TenantId: b.Id, SiteId: &siteOfB.Id, Algorithm: ptr(client.ES256)})
	if n := generated.Load(); n != 1 {
		t.Fatalf("%d generations for one key", n)
	}
}

func TestNamesAreTrimmedBeforeTheLengthLimit(t *testing.T) {
	e := newEnv(t)
	name := strings.Repeat("é", 200)
	padded := strings.Repeat(" ", 28) + name + strings.Repeat(" ", 28) // 256 characters, the spec's limit
	r, _ := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: padded, Domain: uniqueDomain("pad")})
	status(t, r.StatusCode(), 201, r.Body)
	if r.JSON201.Name != name {
		t.Fatalf("name %q", r.JSON201.Name)
	}
	s, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: r.JSON201.Id, Name: padded, Domain: uniqueDomain("pad")})
	status(t, s.StatusCode(), 201, s.Body)
	for _, bad := range []string{
		" " + strings.Repeat("é", 201) + " ", // too long once trimmed
		"Acme\u202eInc",                      // a bidirectional override
		"Acme\u2028Inc",                      // a line separator
		"Ac\u200bme",                         // a zero-width space
	} {
		resp, doc := e.raw("POST", configvault.Prefix+"/tenants", "application/json",
			string(mustJSON(t, map[string]string{"name": bad, "domain": uniqueDomain("bad")})))
		if resp.StatusCode != 400 || !containsStr(fields(doc), "body.name") {
			t.Errorf("name %+q: %d %v", bad, resp.StatusCode, doc)
		}
	}
	ok, _ := e.c.UpdateTenantWithResponse(ctx, r.JSON201.Id, nil, client.TenantUpdate{Name: ptr("Family 👨\u200d👩\u200d👧")})
	status(t, ok.StatusCode(), 200, ok.Body)
}

func TestOmittedOptionalFieldsTakeTheirDefaults(t *testing.T) {
	e := newEnv(t)
	resp, ten := e.raw("POST", configvault.Prefix+"/tenants", "application/json", `{"name":"d","domain":"`+uniqueDomain("d")+`"}`)
	if resp.StatusCode != 201 || ten["is_active"] != true {
		t.Fatalf("tenant: %d %v", resp.StatusCode, ten)
	}
	resp, site := e.raw("POST", configvault.Prefix+"/sites", "application/json", `{"tenant_id":"`+ten["id"].(string)+`","name":"d","domain":"`+uniqueDomain("d")+`"}`)
	if resp.StatusCode != 201 || site["is_active"] != true {
		t.Fatalf("site: %d %v", resp.StatusCode, site)
	}
	resp, key := e.raw("POST", configvault.Prefix+"/keys", "application/json", `{"tenant_id":"`+ten["id"].(string)+`"}`)
	if resp.StatusCode != 201 || key["algorithm"] != "RS256" || key["key_size"] != float64(2048) {
		t.Fatalf("key: %d %v", resp.StatusCode, key)
	}
	k, _ := e.c.GetKeyWithResponse(ctx, key["kid"].(string))
	if days := k.JSON200.ExpiresAt.Sub(k.JSON200.CreatedAt).Hours() / 24; days < configvault.DefaultKeyLifetimeDays-0.01 || days > configvault.DefaultKeyLifetimeDays+0.01 {
		t.Fatalf("key lives %.2f days, want %d", days, configvault.DefaultKeyLifetimeDays)
	}
}

func TestSiteListsFilterByIsActive(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant("a"), e.tenant("b")
	a1, a2, b1 := e.site(a.Id, "a1"), e.site(a.Id, "a2"), e.site(b.Id, "b1")
	e.site(b.Id, "b2")
	off := false
	for _, s := range []uuid.UUID{a2.Id, b1.Id} {
		r, _ := e.c.UpdateSiteWithResponse(ctx, s, nil, client.SiteUpdate{IsActive: &off})
		status(t, r.StatusCode(), 200, r.Body)
	}
	ids := func(items []client.Site) string {
		var out []string
		for _, s := range items {
			out = append(out, s.Id.String())
		}
		return strings.Join(out, ",")
	}
	tenantSites := func(tenant uuid.UUID, isActive *bool) string {
		r, _ := e.c.ListTenantSitesWithResponse(ctx, tenant, &client.ListTenantSitesParams{IsActive: isActive})
		status(t, r.StatusCode(), 200, r.Body)
		return ids(r.JSON200.Items)
	}
	allSites := func(tenant *uuid.UUID, isActive *bool) string {
		r, _ := e.c.ListSitesWithResponse(ctx, &client.ListSitesParams{TenantId: tenant, IsActive: isActive})
		status(t, r.StatusCode(), 200, r.Body)
		return ids(r.JSON200.Items)
	}
	on := true
	for _, tc := range []struct{ got, want string }{
		{tenantSites(a.Id, nil), ids([]client.Site{a1, a2})},
		{tenantSites(a.Id, &on), ids([]client.Site{a1})},
		{tenantSites(a.Id, &off), ids([]client.Site{a2})},
		{tenantSites(b.Id, &off), ids([]client.Site{b1})},
		{allSites(nil, &off), ids([]client.Site{a2, b1})},
		{allSites(&a.Id, &on), ids([]client.Site{a1})},
		{allSites(&b.Id, &off), ids([]client.Site{b1})},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := allSites(nil, &on); strings.Contains(got, a2.Id.String()) || strings.Contains(got, b1.Id.String()) || !strings.Contains(got, a1.Id.String()) {
		t.Errorf("is_active=true: %q", got)
	}
	// The filter does not turn a missing tenant into an empty list, nor an
	// unknown tenant_id filter into a 404.
	missing := uuid.Must(uuid.NewV7())
	r, _ := e.c.ListTenantSitesWithResponse(ctx, missing, &client.ListTenantSitesParams{IsActive: &off})
	status(t, r.StatusCode(), 404, r.Body)
	if got := allSites(&missing, &off); got != "" {
		t.Errorf("sites of a missing tenant: %q", got)
	}
}

func TestStoredPrivateKeysAreSealed(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("sealed")
	for _, alg := range []client.KeyAlgorithm{client.RS256, client.ES256, client.EdDSA} {
		k := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: &alg})
		// The stored PEM and JWK describe the same key.
		derived, err := keycrypto.PublicJWKFromPEM([]byte(k.PublicKey), keycrypto.Algorithm(k.Algorithm), k.Kid)
		var fromPEM client.JWK
		if err == nil {
			err = json.Unmarshal(derived, &fromPEM)
		}
		if err != nil || !reflect.DeepEqual(fromPEM, k.PublicJwk) {
			t.Fatalf("%s: public_jwk %s does not match public_key (%s, %v)", alg, mustJSON(t, k.PublicJwk), derived, err)
		}
		var sealed []byte
		var mk string
		if err := e.pool.QueryRow(ctx, "SELECT private_key_ciphertext, master_key_id FROM configvault.signing_keys WHERE id = $1", k.Id).Scan(&sealed, &mk); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sealed), "PRIVATE KEY") {
			t.Fatalf("%s: PEM text stored", alg)
		}
		if _, err := x509.ParsePKCS8PrivateKey(sealed); err == nil {
			t.Fatalf("%s: the stored private key parses as PKCS #8", alg)
		}
		// Only the master key it was sealed under opens it: AES-256-GCM
		// under any other key, with this row's id as associated data, fails,
		// and a keyring without its master key refuses it.
		der, err := openGCM(rawMasterKey(t, e.masterKey.ID), sealed, k.Id[:])
		if err != nil {
			t.Fatalf("%s: the right master key does not open it: %v", alg, err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
			t.Fatalf("%s: the opened key is not PKCS #8: %v", alg, err)
		}
		other := newMasterKey(t)
		if _, err := openGCM(rawMasterKey(t, other.ID), sealed, k.Id[:]); err == nil {
			t.Fatalf("%s: another master key opens it", alg)
		}
		wrong, _ := keycrypto.NewKeyring(other)
		if _, err := wrong.Open(sealed, mk, k.Id[:]); !errors.Is(err, keycrypto.ErrUnknownMasterKey) {
			t.Fatalf("%s: a keyring without the master key: %v", alg, err)
		}
		otherRow := uuid.Must(uuid.NewV7())
		if _, err := e.keyring.Open(sealed, mk, otherRow[:]); !errors.Is(err, keycrypto.ErrCiphertext) {
			t.Fatalf("%s: opened for another row: %v", alg, err)
		}
	}
}

// openGCM opens a ciphertext as the keyring seals it: AES-256-GCM with the
// random nonce first.
func openGCM(key, sealed, aad []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return aead.Open(nil, nil, sealed, aad)
}

func TestCheckKeyring(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.CheckKeyring(ctx); err != nil {
		t.Fatalf("no keys yet: %v", err)
	}
	ten := e.tenant("keyring")
	for range 3 {
		e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.EdDSA)})
	}
	if err := e.svc.CheckKeyring(ctx); err != nil {
		t.Fatalf("every master key configured: %v", err)
	}

	// Rotated to a new master key, with the old one dropped too early.
	fresh := newMasterKey(t)
	onlyNew, _ := keycrypto.NewKeyring(fresh)
	err := configvault.NewService(e.pool, onlyNew, nil).CheckKeyring(ctx)
	want := fmt.Sprintf("3 signing keys are sealed under master key %s, which is not configured: set it in SAAS_MASTER_KEY or SAAS_MASTER_KEY_PREVIOUS", e.masterKey.ID)
	if err == nil || err.Error() != want {
		t.Fatalf("CheckKeyring: %v\nwant %s", err, want)
	}
	if !errors.Is(err, keycrypto.ErrUnknownMasterKey) {
		t.Fatalf("%v does not match ErrUnknownMasterKey", err)
	}
	for _, secret := range [][]byte{rawMasterKey(t, e.masterKey.ID), rawMasterKey(t, fresh.ID)} {
		if strings.Contains(err.Error(), b64std(secret)) || strings.Contains(err.Error(), b64(secret)) {
			t.Fatal("the error reveals a master key")
		}
	}
	// Kept as previous, the old key makes the check pass.
	both, _ := keycrypto.NewKeyring(fresh, e.masterKey)
	svc := configvault.NewService(e.pool, both, nil)
	if err := svc.CheckKeyring(ctx); err != nil {
		t.Fatalf("old master key kept as previous: %v", err)
	}
	// Keys under two unknown master keys are both reported.
	e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.EdDSA)})
	if _, err := svc.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	k := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.EdDSA)}) // sealed under the old one again
	third, _ := keycrypto.NewKeyring(newMasterKey(t))
	err = configvault.NewService(e.pool, third, nil).CheckKeyring(ctx)
	if err == nil || !strings.Contains(err.Error(), "4 signing keys are sealed under master key "+fresh.ID) ||
		!strings.Contains(err.Error(), "1 signing key is sealed under master key "+e.masterKey.ID) {
		t.Fatalf("two missing master keys: %v (key %s)", err, k.Kid)
	}
}
