package configvault_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

func TestKeysOfEveryAlgorithmVerifyAgainstTheJWKS(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("keys")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	cases := []struct {
		alg  client.KeyAlgorithm
		size *client.SigningKeyCreateKeySize
		kty  string
	}{
		{"", nil, "RSA"}, // the default: RS256 with 2048 bits
		{client.PS256, ptr(client.SigningKeyCreateKeySize(3072)), "RSA"},
		{client.ES256, nil, "EC"},
		{client.EdDSA, nil, "OKP"},
	}
	var kids []string
	for _, tc := range cases {
		body := client.SigningKeyCreate{TenantId: ten.Id, KeySize: tc.size, ExpiresInDays: ptr(30)}
		if tc.alg != "" {
			body.Algorithm = &tc.alg
		}
		k := e.key(body)
		if k.PublicJwk.Kty != client.JWKKty(tc.kty) || k.Status != client.Active || k.SiteId != nil {
			t.Fatalf("%s: %+v", tc.alg, k)
		}
		if tc.alg == "" && (k.Algorithm != client.RS256 || k.KeySize == nil || *k.KeySize != 2048) {
			t.Fatalf("default key: %s %v", k.Algorithm, k.KeySize)
		}
		if !strings.HasPrefix(k.PublicKey, "-----BEGIN PUBLIC KEY-----") {
			t.Fatalf("public_key is not PEM: %q", k.PublicKey)
		}
		// The kid is the RFC 7638 thumbprint of the published key.
		pub, err := jwk.ParseKey(mustJSON(t, k.PublicJwk))
		if err != nil {
			t.Fatal(err)
		}
		tp, _ := pub.Thumbprint(cryptoSHA256)
		if k.Kid != b64(tp) {
			t.Fatalf("kid %s is not the thumbprint %s", k.Kid, b64(tp))
		}
		// Found by id and by kid alike.
		byKid, _ := e.c.GetKeyWithResponse(ctx, k.Kid)
		byID, _ := e.c.GetKeyWithResponse(ctx, k.Id.String())
		status(t, byKid.StatusCode(), 200, byKid.Body)
		if byKid.JSON200.Id != k.Id || byID.JSON200.Kid != k.Kid {
			t.Fatal("lookup by kid and by id disagree")
		}
		for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, "PRIVATE"} {
			if strings.Contains(string(byID.Body), private) {
				t.Fatalf("a response carries private material (%s): %s", private, byID.Body)
			}
		}
		kids = append(kids, k.Kid)

		// A signature by the stored private key verifies with the published JWKS.
		signer := e.storedSigner(k)
		token, err := keycrypto.SignJWT(signer, keycrypto.Algorithm(k.Algorithm), k.Kid, []byte(`{"sub":"x"}`), "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		set := e.jwks(e.base + "/config-vault/v1/tenants/" + ten.Id.String() + "/jwks.json")
		if _, err := jws.Verify(token, jws.WithKeySet(set, jws.WithRequireKid(true))); err != nil {
			t.Fatalf("%s: JWKS does not verify the stored key's signature: %v", k.Algorithm, err)
		}
	}

	// No private key is stored in the clear, in any column.
	var leaks int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM configvault.signing_keys k WHERE k::text LIKE '%PRIVATE KEY%' OR encode(private_key_ciphertext, 'escape') LIKE '%PRIVATE KEY%'`).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("private key text in the database: %d %v", leaks, err)
	}

	list, _ := e.c.ListTenantKeysWithResponse(ctx, ten.Id, &client.ListTenantKeysParams{Limit: ptr(2)})
	status(t, list.StatusCode(), 200, list.Body)
	if len(list.JSON200.Items) != 2 || list.JSON200.Items[0].Kid != kids[0] || list.JSON200.NextCursor == nil {
		t.Fatalf("key list not ordered/paginated: %s", list.Body)
	}
}

func TestKeyLifecycleAndPublication(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("life")
	e = e.as(tenantAdmin(ten.Id)) // the rest is the tenant's own business
	site := e.site(ten.Id, "blog")
	tk := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	sk := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: ptr(client.EdDSA)})
	tenantJWKS := e.base + "/config-vault/v1/tenants/" + ten.Id.String() + "/jwks.json"
	siteJWKS := e.base + "/config-vault/v1/sites/" + site.Id.String() + "/jwks.json"

	if got := kidsOf(e.jwks(tenantJWKS)); got != tk.Kid {
		t.Fatalf("tenant JWKS %q, want only the tenant key", got)
	}
	if got := kidsOf(e.jwks(siteJWKS)); got != tk.Kid+","+sk.Kid {
		t.Fatalf("site JWKS %q, want tenant and site key", got)
	}
	active, _ := e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	if active.JSON200.Kid != sk.Kid {
		t.Fatal("the site's own key should sign for it")
	}

	// Deactivated: verify-only, still published, no longer signing.
	d, _ := e.c.DeactivateKeyWithResponse(ctx, sk.Kid, nil)
	status(t, d.StatusCode(), 200, d.Body)
	if d.JSON200.Status != client.Inactive {
		t.Fatal(d.JSON200.Status)
	}
	if got := kidsOf(e.jwks(siteJWKS)); got != tk.Kid+","+sk.Kid {
		t.Fatalf("inactive key must stay published: %q", got)
	}
	active, _ = e.c.GetSiteActiveKeyWithResponse(ctx, site.Id)
	if active.JSON200.Kid != tk.Kid {
		t.Fatal("with its own key inactive, a site falls back to its tenant's key")
	}
	// Reactivate, with a stale If-Match first.
	stale := `"v1"`
	r, _ := e.c.ActivateKeyWithResponse(ctx, sk.Id.String(), &client.ActivateKeyParams{IfMatch: &stale})
	status(t, r.StatusCode(), 412, r.Body)
	etag := d.HTTPResponse.Header.Get("ETag")
	r, _ = e.c.ActivateKeyWithResponse(ctx, sk.Id.String(), &client.ActivateKeyParams{IfMatch: &etag})
	status(t, r.StatusCode(), 200, r.Body)

	// Revoked: terminal and unpublished.
	rv, _ := e.c.RevokeKeyWithResponse(ctx, sk.Kid, nil)
	status(t, rv.StatusCode(), 200, rv.Body)
	if got := kidsOf(e.jwks(siteJWKS)); got != tk.Kid {
		t.Fatalf("revoked key still published: %q", got)
	}
	again, _ := e.c.ActivateKeyWithResponse(ctx, sk.Kid, nil)
	status(t, again.StatusCode(), 409, again.Body)
	deact, _ := e.c.DeactivateKeyWithResponse(ctx, sk.Kid, nil)
	status(t, deact.StatusCode(), 409, deact.Body)
	rv2, _ := e.c.RevokeKeyWithResponse(ctx, sk.Kid, nil)
	status(t, rv2.StatusCode(), 200, rv2.Body)

	// An inactive site or tenant makes its keys unusable and unpublished.
	off := false
	e.c.UpdateTenantWithResponse(ctx, ten.Id, nil, client.TenantUpdate{IsActive: &off})
	if got := kidsOf(e.jwks(tenantJWKS)); got != "" {
		t.Fatalf("inactive tenant still publishes %q", got)
	}
	na, _ := e.c.GetTenantActiveKeyWithResponse(ctx, ten.Id)
	status(t, na.StatusCode(), 404, na.Body)
	on := true
	e.c.UpdateTenantWithResponse(ctx, ten.Id, nil, client.TenantUpdate{IsActive: &on})
	sk2 := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: ptr(client.ES256)})
	e.c.UpdateSiteWithResponse(ctx, site.Id, nil, client.SiteUpdate{IsActive: &off})
	if got := kidsOf(e.jwks(siteJWKS)); strings.Contains(got, sk2.Kid) {
		t.Fatalf("inactive site still publishes its key: %q", got)
	}

	// An expired key is neither active nor published.
	if _, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, tk.Id); err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(e.jwks(tenantJWKS)); got != "" {
		t.Fatalf("expired key still published: %q", got)
	}
	na, _ = e.c.GetTenantActiveKeyWithResponse(ctx, ten.Id)
	status(t, na.StatusCode(), 404, na.Body)
	d2, _ := e.c.DeactivateKeyWithResponse(ctx, tk.Kid, nil)
	status(t, d2.StatusCode(), 200, d2.Body)
	a2, _ := e.c.ActivateKeyWithResponse(ctx, tk.Kid, nil)
	status(t, a2.StatusCode(), 409, a2.Body)

	del, _ := e.c.DeleteKeyWithResponse(ctx, tk.Kid, nil)
	status(t, del.StatusCode(), 204, del.Body)
	gone, _ := e.c.GetKeyWithResponse(ctx, tk.Kid)
	status(t, gone.StatusCode(), 404, gone.Body)
}

func TestJWKSNeedsNoCredentialsAndIsCacheable(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("cache")
	r, _ := e.c.GetTenantJWKSWithResponse(ctx, ten.Id)
	status(t, r.StatusCode(), 200, r.Body)
	if cc := r.HTTPResponse.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Fatalf("Cache-Control %q", cc)
	}
	if r.JSON200.Keys == nil || len(r.JSON200.Keys) != 0 {
		t.Fatalf("a tenant without keys has an empty set: %s", r.Body)
	}
	missing, _ := e.c.GetTenantJWKSWithResponse(ctx, uuid.Must(uuid.NewV7()))
	status(t, missing.StatusCode(), 404, missing.Body)
}

func TestKeyForASiteOfAnotherTenantIsRefused(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant("a"), e.tenant("b")
	siteOfB := e.site(b.Id, "b-site")
	r, _ := e.c.CreateKeyWithResponse(ctx, nil, client.SigningKeyCreate{TenantId: a.Id, SiteId: &siteOfB.Id, Algorithm: ptr(client.ES256)})
	status(t, r.StatusCode(), 400, r.Body)
	if r.ApplicationproblemJSON400.Errors == nil || (*r.ApplicationproblemJSON400.Errors)[0].Field != "body.site_id" {
		t.Fatalf("want the site_id named: %s", r.Body)
	}
	unknownTenant, _ := e.c.CreateKeyWithResponse(ctx, nil, client.SigningKeyCreate{TenantId: uuid.Must(uuid.NewV7())})
	status(t, unknownTenant.StatusCode(), 400, unknownTenant.Body)
	missingSite, _ := e.c.ListSiteKeysWithResponse(ctx, uuid.Must(uuid.NewV7()), nil)
	status(t, missingSite.StatusCode(), 404, missingSite.Body)
	missingTenant, _ := e.c.ListTenantKeysWithResponse(ctx, uuid.Must(uuid.NewV7()), nil)
	status(t, missingTenant.StatusCode(), 404, missingTenant.Body)
}

func TestDeletingCascadesInOneStatement(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("cascade")
	keep := e.tenant("keep")
	s1, s2 := e.site(ten.Id, "one"), e.site(ten.Id, "two")
	e.site(keep.Id, "kept")
	e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &s1.Id, Algorithm: ptr(client.ES256)})
	e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &s2.Id, Algorithm: ptr(client.ES256)})
	e.key(client.SigningKeyCreate{TenantId: keep.Id, Algorithm: ptr(client.ES256)})

	del, _ := e.c.DeleteSiteWithResponse(ctx, s1.Id, nil)
	status(t, del.StatusCode(), 204, del.Body)
	if n := e.count("configvault.signing_keys", ten.Id); n != 2 {
		t.Fatalf("deleting a site left %d of the tenant's keys, want 2", n)
	}
	dt, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, nil)
	status(t, dt.StatusCode(), 204, dt.Body)
	if n := e.count("configvault.sites", ten.Id) + e.count("configvault.signing_keys", ten.Id); n != 0 {
		t.Fatalf("%d rows of a deleted tenant remain", n)
	}
	if n := e.count("configvault.sites", keep.Id) + e.count("configvault.signing_keys", keep.Id); n != 2 {
		t.Fatalf("another tenant's rows were touched: %d", n)
	}
}

func TestSiteLifecycle(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("sites")
	s := e.site(ten.Id, "shop")
	other := e.tenant("other")
	e.site(other.Id, "elsewhere")

	mine, _ := e.c.ListTenantSitesWithResponse(ctx, ten.Id, nil)
	if len(mine.JSON200.Items) != 1 || mine.JSON200.Items[0].Id != s.Id {
		t.Fatalf("tenant sites: %s", mine.Body)
	}
	filtered, _ := e.c.ListSitesWithResponse(ctx, &client.ListSitesParams{TenantId: &other.Id})
	if len(filtered.JSON200.Items) != 1 || filtered.JSON200.Items[0].TenantId != other.Id {
		t.Fatalf("tenant_id filter: %s", filtered.Body)
	}
	all, _ := e.c.ListSitesWithResponse(ctx, nil)
	if len(all.JSON200.Items) != 2 {
		t.Fatalf("all sites: %s", all.Body)
	}
	got, _ := e.c.GetSiteWithResponse(ctx, s.Id)
	etag := got.HTTPResponse.Header.Get("ETag")
	upd, _ := e.c.UpdateSiteWithResponse(ctx, s.Id, &client.UpdateSiteParams{IfMatch: &etag}, client.SiteUpdate{Domain: ptr("Shop.Example.org")})
	status(t, upd.StatusCode(), 200, upd.Body)
	if upd.JSON200.Domain != "shop.example.org" || upd.JSON200.Name != "shop" {
		t.Fatalf("%+v", upd.JSON200)
	}
	stale, _ := e.c.UpdateSiteWithResponse(ctx, s.Id, &client.UpdateSiteParams{IfMatch: &etag}, client.SiteUpdate{Name: ptr("x")})
	status(t, stale.StatusCode(), 412, stale.Body)
	resp, doc := e.raw("PUT", "/config-vault/v1/sites/"+s.Id.String(), "application/json", `{"tenant_id":"`+other.Id.String()+`"}`)
	if resp.StatusCode != 400 || !containsStr(fields(doc), "body.tenant_id") {
		t.Fatalf("moving a site: %d %v", resp.StatusCode, doc)
	}
	noTenant, _ := e.c.ListTenantSitesWithResponse(ctx, uuid.Must(uuid.NewV7()), nil)
	status(t, noTenant.StatusCode(), 404, noTenant.Body)
}

func (e *env) count(table string, tenant uuid.UUID) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", tenant).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kidsOf(set jwk.Set) string {
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, k.KeyID())
	}
	return strings.Join(kids, ",")
}
