package configvault_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Helpers of the signing tests.

// signResp asks for a token through the generated client.
func (e *env) signResp(tenant uuid.UUID, body client.TokenSignRequest) *client.SignTokenResponse {
	e.t.Helper()
	r, err := e.c.SignTokenWithResponse(ctx, tenant, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// sign asks for a token and expects one.
func (e *env) sign(tenant uuid.UUID, site *uuid.UUID, claims string) client.SignedToken {
	e.t.Helper()
	r := e.signResp(tenant, client.TokenSignRequest{Claims: json.RawMessage(claims), SiteId: site})
	status(e.t, r.StatusCode(), 200, r.Body)
	if cc := r.HTTPResponse.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	return *r.JSON200
}

// signStatus asks for a token and expects the status, for failures.
func (e *env) signStatus(tenant uuid.UUID, site *uuid.UUID, claims string, want int) *client.SignTokenResponse {
	e.t.Helper()
	r := e.signResp(tenant, client.TokenSignRequest{Claims: json.RawMessage(claims), SiteId: site})
	status(e.t, r.StatusCode(), want, r.Body)
	return r
}

// segment decodes one base64url part of a compact JWS.
func segment(t *testing.T, token string, i int) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	return b
}

// header decodes a token's protected header.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal(segment(t, token, 0), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// tenantJWKS and siteJWKS fetch a key set through the generated client.
func (e *env) tenantJWKS(tenant uuid.UUID) jwk.Set {
	e.t.Helper()
	r, err := e.c.GetTenantJWKSWithResponse(ctx, tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	status(e.t, r.StatusCode(), 200, r.Body)
	set, err := jwk.Parse(r.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return set
}

func (e *env) siteJWKS(site uuid.UUID) jwk.Set {
	e.t.Helper()
	r, err := e.c.GetSiteJWKSWithResponse(ctx, site)
	if err != nil {
		e.t.Fatal(err)
	}
	status(e.t, r.StatusCode(), 200, r.Body)
	set, err := jwk.Parse(r.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return set
}

// verify checks a signed token as a relying party would: against the key
// set, selecting the key by kid, with the header the service promises. It
// returns the verified payload.
func verify(t *testing.T, tok client.SignedToken, set jwk.Set, wantTyp string) []byte {
	t.Helper()
	payload, err := jws.Verify([]byte(tok.Token), jws.WithKeySet(set, jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("the published key set (%s) does not verify the token signed by %s: %v", kidsOf(set), tok.Kid, err)
	}
	h := header(t, tok.Token)
	want := map[string]any{"alg": string(tok.Alg), "kid": tok.Kid, "typ": wantTyp}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Fatalf("header %v, want exactly %v", h, want)
	}
	return payload
}

// keyCount counts a tenant's keys in the database, whatever their state.
func (e *env) keyCount(tenant uuid.UUID) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.signing_keys WHERE tenant_id = $1", tenant).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) inactiveTenant(name string) client.Tenant {
	e.t.Helper()
	r, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: name, Domain: uniqueDomain(name), IsActive: ptr(false)})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create tenant: %v %s", err, r.Body)
	}
	return *r.JSON201
}

const someClaims = `{"iss":"https://auth.example.com","sub":"user-1","aud":"saas","scope":"content:read"}`

// A tenant without a key gets one ES256 key on its first sign; the token
// verifies with the tenant's published key set, its header is alg, kid and
// typ and nothing else, and later signs use the same key.
func TestSignTokenCreatesAKeyAndVerifiesWithTheJWKS(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("signer")
	if n := e.keyCount(ten.Id); n != 0 {
		t.Fatalf("a new tenant has %d keys", n)
	}
	exp := time.Now().Add(15 * time.Minute).Unix()
	claims := fmt.Sprintf(`{"iss":"https://auth.example.com","sub":"user-1","aud":"saas","exp":%d,"nested":{"a":[1,2.5,"x"]},"big":12345678901234567890}`, exp)
	tok := e.sign(ten.Id, nil, claims)
	if tok.Alg != client.ES256 {
		t.Fatalf("alg %s, want ES256 for a key created on first need", tok.Alg)
	}
	payload := verify(t, tok, e.tenantJWKS(ten.Id), "at+jwt")
	// Signed as given (a large integer keeps every digit), tenant_id in front.
	if want := `{"tenant_id":"` + ten.Id.String() + `",` + claims[1:]; string(payload) != want {
		t.Fatalf("payload\n%s\nwant\n%s", payload, want)
	}

	keys, _ := e.c.ListTenantKeysWithResponse(ctx, ten.Id, nil)
	status(t, keys.StatusCode(), 200, keys.Body)
	if len(keys.JSON200.Items) != 1 {
		t.Fatalf("keys after the first sign: %s", keys.Body)
	}
	k := keys.JSON200.Items[0]
	if k.Kid != tok.Kid || k.Algorithm != client.ES256 || k.SiteId != nil || k.Status != client.Active ||
		k.ExpiresAt.Before(time.Now().Add(364*24*time.Hour)) {
		t.Fatalf("the created key: %+v", k)
	}
	for _, private := range []string{`"d"`, "PRIVATE"} {
		if strings.Contains(string(keys.Body), private) {
			t.Fatalf("private material in %s", keys.Body)
		}
	}

	// The same key signs again; typ JWT on request.
	again := e.signResp(ten.Id, client.TokenSignRequest{Claims: json.RawMessage(`{}`), Typ: ptr(client.TokenTypeJWT)})
	status(t, again.StatusCode(), 200, again.Body)
	if again.JSON200.Kid != tok.Kid {
		t.Fatalf("second sign used %s, want %s", again.JSON200.Kid, tok.Kid)
	}
	if payload := verify(t, *again.JSON200, e.tenantJWKS(ten.Id), "JWT"); string(payload) != `{"tenant_id":"`+ten.Id.String()+`"}` {
		t.Fatalf("payload %s", payload)
	}
	if n := e.keyCount(ten.Id); n != 1 {
		t.Fatalf("%d keys after two signs, want 1", n)
	}
}

// With a site, its own active key signs; without one (or with the site's
// key no longer active), its tenant's; without a site, the tenant's.
func TestSignTokenUsesTheMostSpecificKey(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("specific")
	own := e.site(ten.Id, "own-key")
	borrowing := e.site(ten.Id, "no-key")
	siteKey := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &own.Id, Algorithm: ptr(client.EdDSA)})

	tok := e.sign(ten.Id, &own.Id, someClaims)
	if tok.Kid != siteKey.Kid || tok.Alg != client.EdDSA {
		t.Fatalf("signed by %s (%s), want the site's key %s", tok.Kid, tok.Alg, siteKey.Kid)
	}
	verify(t, tok, e.siteJWKS(own.Id), "at+jwt")
	if n := e.keyCount(ten.Id); n != 1 {
		t.Fatalf("a site with its own key made %d keys", n)
	}

	// The other site has no key of its own, and the tenant none yet: a
	// tenant-level key is created, which serves both the tenant and the site.
	viaSite := e.sign(ten.Id, &borrowing.Id, someClaims)
	if viaSite.Kid == siteKey.Kid {
		t.Fatal("a site signed with another site's key")
	}
	verify(t, viaSite, e.siteJWKS(borrowing.Id), "at+jwt")
	verify(t, viaSite, e.tenantJWKS(ten.Id), "at+jwt")
	created, _ := e.c.GetKeyWithResponse(ctx, viaSite.Kid)
	status(t, created.StatusCode(), 200, created.Body)
	if created.JSON200.SiteId != nil {
		t.Fatalf("the key created on first need is for site %s, want tenant-level", created.JSON200.SiteId)
	}
	if tok := e.sign(ten.Id, nil, someClaims); tok.Kid != viaSite.Kid {
		t.Fatalf("the tenant signs with %s, want its key %s", tok.Kid, viaSite.Kid)
	}
	if tok := e.sign(ten.Id, &own.Id, someClaims); tok.Kid != siteKey.Kid {
		t.Fatal("with a tenant key present, the site's own key must still be preferred")
	}

	// The site's key deactivated: its tenant's signs for it.
	d, _ := e.c.DeactivateKeyWithResponse(ctx, siteKey.Kid, nil)
	status(t, d.StatusCode(), 200, d.Body)
	if tok := e.sign(ten.Id, &own.Id, someClaims); tok.Kid != viaSite.Kid {
		t.Fatalf("after deactivating the site key, signed by %s, want the tenant's %s", tok.Kid, viaSite.Kid)
	}
	if n := e.keyCount(ten.Id); n != 2 {
		t.Fatalf("%d keys, want the site's and one tenant key", n)
	}
}

// Unknown, inactive and foreign owners are 404, and no key is created for them.
func TestSignTokenRefusesOwnersThatCannotSign(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("owner")
	e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	other := e.tenant("other")
	otherSite := e.site(other.Id, "foreign")
	e.key(client.SigningKeyCreate{TenantId: other.Id, SiteId: &otherSite.Id, Algorithm: ptr(client.ES256)})
	sleeping := e.inactiveTenant("sleeping")
	sleepingWithKey := e.tenant("sleeping-key")
	e.key(client.SigningKeyCreate{TenantId: sleepingWithKey.Id, Algorithm: ptr(client.ES256)})
	off := false
	upd, _ := e.c.UpdateTenantWithResponse(ctx, sleepingWithKey.Id, nil, client.TenantUpdate{IsActive: &off})
	status(t, upd.StatusCode(), 200, upd.Body)
	r, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: ten.Id, Name: "closed", Domain: uniqueDomain("closed"), IsActive: &off})
	status(t, r.StatusCode(), 201, r.Body)
	closed := r.JSON201

	for _, tc := range []struct {
		name   string
		tenant uuid.UUID
		site   *uuid.UUID
	}{
		{"unknown tenant", uuid.Must(uuid.NewV7()), nil},
		{"inactive tenant without key", sleeping.Id, nil},
		{"inactive tenant with a key", sleepingWithKey.Id, nil},
		{"inactive site of an active tenant with a key", ten.Id, &closed.Id},
		{"site of another tenant", ten.Id, &otherSite.Id},
		{"unknown site", ten.Id, ptr(uuid.Must(uuid.NewV7()))},
		{"site of an unknown tenant", uuid.Must(uuid.NewV7()), &otherSite.Id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.signStatus(tc.tenant, tc.site, someClaims, 404)
			if r.ApplicationproblemJSON404 == nil {
				t.Fatalf("no problem document: %s", r.Body)
			}
		})
	}
	for tenant, want := range map[uuid.UUID]int{ten.Id: 1, other.Id: 1, sleeping.Id: 0, sleepingWithKey.Id: 1} {
		if n := e.keyCount(tenant); n != want {
			t.Errorf("tenant %s has %d keys after refused signs, want %d", tenant, n, want)
		}
	}
}

// However many first signs of a fresh tenant run at once, one key is created
// and every token is signed with it. Generation is slowed down so that the
// others surely arrive while the first one is creating the key.
func TestConcurrentFirstSignsCreateOneKey(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("stampede")
	var generated atomic.Int32
	configvault.SetKeyGenerator(e.svc, func(spec keycrypto.Spec) (*keycrypto.Material, error) {
		generated.Add(1)
		time.Sleep(200 * time.Millisecond)
		return keycrypto.Generate(spec)
	})
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		kids  = map[string]int{}
		fails []string
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := e.c.SignTokenWithResponse(ctx, ten.Id, client.TokenSignRequest{Claims: json.RawMessage(someClaims)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				fails = append(fails, err.Error())
			case r.JSON200 == nil:
				fails = append(fails, fmt.Sprintf("%d %s", r.StatusCode(), r.Body))
			default:
				kids[r.JSON200.Kid]++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("%d of %d signs failed: %v", len(fails), n, fails)
	}
	if len(kids) != 1 || generated.Load() != 1 {
		t.Fatalf("%d keys generated, tokens signed by %d different keys: %v", generated.Load(), len(kids), kids)
	}
	var keys int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM configvault.signing_keys WHERE tenant_id = $1", ten.Id).Scan(&keys); err != nil || keys != 1 {
		t.Fatalf("%d keys stored for the tenant (%v), want exactly 1", keys, err)
	}
}

// A revoked key never signs again, through this service or revoked behind
// its back (by another replica: only the database knows), even though its
// opened signer was cached.
func TestRevokedKeyNeverSignsAgain(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("revoker")
	first := e.sign(ten.Id, nil, someClaims)
	e.sign(ten.Id, nil, someClaims) // the signer is cached now
	if n := configvault.CachedSigners(e.svc); n != 1 {
		t.Fatalf("%d cached signers after two signs, want 1", n)
	}

	rv, _ := e.c.RevokeKeyWithResponse(ctx, first.Kid, nil)
	status(t, rv.StatusCode(), 200, rv.Body)
	if n := configvault.CachedSigners(e.svc); n != 0 {
		t.Fatalf("the revoked key's signer is still cached (%d)", n)
	}
	second := e.sign(ten.Id, nil, someClaims)
	if second.Kid == first.Kid || header(t, second.Token)["kid"] == first.Kid {
		t.Fatalf("the revoked key %s signed again", first.Kid)
	}
	set := e.tenantJWKS(ten.Id)
	verify(t, second, set, "at+jwt")
	if _, ok := set.LookupKeyID(first.Kid); ok {
		t.Fatal("the revoked key is still published")
	}
	if _, err := jws.Verify([]byte(first.Token), jws.WithKeySet(set, jws.WithRequireKid(true))); err == nil {
		t.Fatal("a token of the revoked key still verifies with the published key set")
	}

	// Revoked in the database only (by another replica): the cached signer
	// of the second key is never asked for once activeKeyTTL has passed,
	// because the key is then chosen again from the database.
	e.sign(ten.Id, nil, someClaims)
	if n := configvault.CachedSigners(e.svc); n != 1 {
		t.Fatalf("%d cached signers, want the second key's", n)
	}
	tag, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET status = 'revoked', revoked_at = now(), version = version + 1 WHERE kid = $1`, second.Kid)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("revoke in the database: %v %v", tag, err)
	}
	configvault.PassActiveKeyTTL(e.svc)
	third := e.sign(ten.Id, nil, someClaims)
	if third.Kid == second.Kid || third.Kid == first.Kid {
		t.Fatalf("a revoked key (%s) signed", third.Kid)
	}
	verify(t, third, e.tenantJWKS(ten.Id), "at+jwt")

	// Deactivated: verify-only, so it does not sign either.
	d, _ := e.c.DeactivateKeyWithResponse(ctx, third.Kid, nil)
	status(t, d.StatusCode(), 200, d.Body)
	if fourth := e.sign(ten.Id, nil, someClaims); fourth.Kid == third.Kid {
		t.Fatal("a deactivated key signed")
	}
	if n := e.keyCount(ten.Id); n != 4 {
		t.Fatalf("%d keys, want 4 (each one created when the previous stopped signing)", n)
	}
}

// The key that signs a token outlives it: a key expiring before the token's
// exp (plus a margin) is passed over, for a longer-lived one or a new one.
func TestSigningKeyOutlivesTheToken(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("outlive")
	site := e.site(ten.Id, "short")
	short := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256), ExpiresInDays: ptr(1)})
	shortSite := e.key(client.SigningKeyCreate{TenantId: ten.Id, SiteId: &site.Id, Algorithm: ptr(client.ES256), ExpiresInDays: ptr(1)})

	soon := fmt.Sprintf(`{"sub":"u","exp":%d}`, time.Now().Add(time.Hour).Unix())
	if tok := e.sign(ten.Id, nil, soon); tok.Kid != short.Kid {
		t.Fatalf("a token of an hour signed by %s, want the day-long key %s", tok.Kid, short.Kid)
	}
	if tok := e.sign(ten.Id, &site.Id, soon); tok.Kid != shortSite.Kid {
		t.Fatalf("a site token of an hour signed by %s, want the site's key", tok.Kid)
	}

	later := fmt.Sprintf(`{"sub":"u","exp":%d}`, time.Now().Add(48*time.Hour).Unix())
	long := e.sign(ten.Id, nil, later)
	if long.Kid == short.Kid {
		t.Fatal("a key expiring before the token signed it")
	}
	k, _ := e.c.GetKeyWithResponse(ctx, long.Kid)
	status(t, k.StatusCode(), 200, k.Body)
	if k.JSON200.ExpiresAt.Before(time.Now().Add(48 * time.Hour)) {
		t.Fatalf("the new key expires at %s, before the token", k.JSON200.ExpiresAt)
	}
	verify(t, long, e.tenantJWKS(ten.Id), "at+jwt")
	// The site's own key expires too soon: its tenant's long-lived key signs.
	if tok := e.sign(ten.Id, &site.Id, later); tok.Kid != long.Kid {
		t.Fatalf("a site token of two days signed by %s, want the tenant's %s", tok.Kid, long.Kid)
	}
	if n := e.keyCount(ten.Id); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
	// An already expired token (the IAM tests' attack table needs one) is signed.
	past := fmt.Sprintf(`{"sub":"u","exp":%d}`, time.Now().Add(-time.Hour).Unix())
	e.sign(ten.Id, nil, past)
}

// Claims that try to speak for another tenant, are too large, not an object,
// or have a malformed exp are refused; header parameters among the claims
// stay claims.
func TestSignTokenChecksTheClaims(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("claims")
	other := e.tenant("claims-other")
	tid := ten.Id.String()

	// tenant_id naming the path's tenant is kept once, as given.
	same := `{"sub":"u","tenant_id":"` + tid + `"}`
	if p := verify(t, e.sign(ten.Id, nil, same), e.tenantJWKS(ten.Id), "at+jwt"); string(p) != same {
		t.Fatalf("payload %s, want %s", p, same)
	}
	// White space is dropped, nothing else changes.
	if p := verify(t, e.sign(ten.Id, nil, "{ \"sub\" : \"u\" ,\n \"n\": [ 1 , 2 ] }"), e.tenantJWKS(ten.Id), "at+jwt"); string(p) != `{"tenant_id":"`+tid+`","sub":"u","n":[1,2]}` {
		t.Fatalf("payload %s", p)
	}

	big := `{"blob":"` + strings.Repeat("x", configvault.MaxClaimsBytes) + `"}`
	for _, tc := range []struct {
		name, claims, field string
	}{
		{"another tenant", `{"sub":"u","tenant_id":"` + other.Id.String() + `"}`, "body.claims.tenant_id"},
		{"tenant id in capitals", `{"tenant_id":"` + strings.ToUpper(tid) + `"}`, "body.claims.tenant_id"},
		{"tenant id not a string", `{"tenant_id":42}`, "body.claims.tenant_id"},
		{"tenant id null", `{"tenant_id":null}`, "body.claims.tenant_id"},
		{"tenant id an object", `{"tenant_id":{"id":"` + tid + `"}}`, "body.claims.tenant_id"},
		{"over 8 KiB", big, "body.claims"},
		{"exp a string", `{"exp":"1767225600"}`, "body.claims.exp"},
		{"exp negative", `{"exp":-1}`, "body.claims.exp"},
		{"exp beyond 30 days", fmt.Sprintf(`{"exp":%d}`, time.Now().Add((configvault.MaxTokenLifetimeDays*24+1)*time.Hour).Unix()), "body.claims.exp"},
		{"exp beyond any date", `{"exp":1e300}`, "body.claims.exp"},
		{"claims an array", `[1,2]`, "body.claims"},
		{"claims a string", `"x"`, "body.claims"},
		{"claims null", `null`, "body.claims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.signStatus(ten.Id, nil, tc.claims, 400)
			if r.ApplicationproblemJSON400 == nil || !slices.Contains(fields(mustMap(t, r.Body)), tc.field) {
				t.Fatalf("problem %s does not name %s", r.Body, tc.field)
			}
		})
	}
	// Exactly 8 KiB of compact claims is fine.
	fits := `{"blob":"` + strings.Repeat("x", configvault.MaxClaimsBytes-len(`{"blob":""}`)) + `"}`
	verify(t, e.sign(ten.Id, nil, fits), e.tenantJWKS(ten.Id), "at+jwt")

	// Bodies the typed client cannot send.
	path := configvault.Prefix + "/internal/tenants/" + tid + "/tokens"
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"member given twice", `{"claims":{"tenant_id":"` + other.Id.String() + `","tenant_id":"` + tid + `"}}`, 400, "body.claims.tenant_id"},
		{"no claims", `{"typ":"JWT"}`, 400, "body.claims"},
		{"unknown typ", `{"claims":{},"typ":"jwt"}`, 400, "body.typ"},
		{"unknown member", `{"claims":{},"kid":"mine"}`, 400, "body.kid"},
		{"bad site id", `{"claims":{},"site_id":"nope"}`, 400, "body.site_id"},
		{"over the body limit", `{"claims":{"blob":"` + strings.Repeat("x", 1<<20) + `"}}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, doc := e.raw("POST", path, "application/json", tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, doc)
			}
			if tc.field != "" && !slices.Contains(fields(doc), tc.field) {
				t.Fatalf("problem %v does not name %s", doc, tc.field)
			}
		})
	}
	if n := e.keyCount(other.Id); n != 0 {
		t.Fatalf("refused signs created %d keys for the other tenant", n)
	}
}

// The service refuses a member given twice by itself too, whatever the HTTP
// layer does: the two readings of such claims would name different tenants.
func TestSignTokenServiceRefusesDuplicateMembers(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("dups")
	tid := ten.Id.String()
	for claims, field := range map[string]string{
		`{"tenant_id":"` + uuid.NewString() + `","tenant_id":"` + tid + `"}`: "body.claims.tenant_id",
		`{"tenant_id":"` + tid + `","tenant_id":"` + uuid.NewString() + `"}`: "body.claims.tenant_id",
		`{"exp":1,"exp":2}`: "body.claims.exp",
	} {
		_, err := e.svc.SignToken(ctx, configvault.TokenRequest{TenantID: ten.Id, Claims: json.RawMessage(claims)})
		var p *problem.Error
		if !errors.As(err, &p) || p.Kind != problem.KindInvalid || len(p.Fields) != 1 ||
			p.Fields[0].Field != field || !strings.Contains(p.Fields[0].Message, "more than once") {
			t.Errorf("%s: %#v, want a refusal naming %s given twice", claims, err, field)
		}
	}
	if n := e.keyCount(ten.Id); n != 0 {
		t.Fatalf("refused signs created %d keys", n)
	}
}

// jku, jwk, x5u, kid, alg and typ among the claims are claims: the header is
// the service's alone.
func TestHeaderParametersInClaimsStayClaims(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("jku")
	claims := `{"jku":"https://evil.example/jwks.json","jwk":{"kty":"oct","k":"AAAA"},"x5u":"https://evil.example/cert","kid":"evil","alg":"none","typ":"JWT","crit":["exp"]}`
	tok := e.sign(ten.Id, nil, claims)
	payload := verify(t, tok, e.tenantJWKS(ten.Id), "at+jwt") // exactly alg, kid, typ
	if tok.Kid == "evil" || tok.Alg != client.ES256 {
		t.Fatalf("claims reached the header: %+v", tok)
	}
	if !bytes.Contains(payload, []byte(`"jku":"https://evil.example/jwks.json"`)) {
		t.Fatalf("the jku claim was dropped: %s", payload)
	}
}

// Signing with an RSA key opens it once; later signs use the cached signer.
func TestOpenedSignersAreCached(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("cached")
	k := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.RS256)})
	before := configvault.OpenedSigners(e.svc)
	for range 5 {
		tok := e.sign(ten.Id, nil, someClaims)
		if tok.Kid != k.Kid || tok.Alg != client.RS256 {
			t.Fatalf("signed by %s %s, want the RS256 key", tok.Kid, tok.Alg)
		}
		verify(t, tok, e.tenantJWKS(ten.Id), "at+jwt")
	}
	if d := configvault.OpenedSigners(e.svc) - before; d != 1 {
		t.Fatalf("the key was opened %d times for 5 signs, want once", d)
	}
	// Deleting the tenant drops its signers.
	del, _ := e.c.DeleteTenantWithResponse(ctx, ten.Id, nil)
	status(t, del.StatusCode(), 204, del.Body)
	if n := configvault.CachedSigners(e.svc); n != 0 {
		t.Fatalf("%d signers cached after the tenant was deleted", n)
	}
	e.signStatus(ten.Id, nil, someClaims, 404)
}

func mustMap(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// While another request holds the tenant's key creation for too long, a
// first sign gives up with 503 and Retry-After, as the spec declares, and
// succeeds once the creation is over.
func TestFirstSignWaitsBoundedlyForAnotherCreation(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("waiting")
	configvault.SetFirstKeyWait(e.svc, 100*time.Millisecond)
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The lock LockTenantKeyCreation takes, held as a stuck creator would.
	const lock = "SELECT pg_advisory_lock(hashtextextended('configvault.signing-key:' || $1::uuid::text, 0))"
	if _, err := conn.Exec(ctx, lock, ten.Id); err != nil {
		t.Fatal(err)
	}
	r := e.signStatus(ten.Id, nil, someClaims, 503)
	if ra := r.HTTPResponse.Header.Get("Retry-After"); ra != "1" || r.ApplicationproblemJSON503 == nil {
		t.Fatalf("Retry-After %q, body %s", ra, r.Body)
	}
	if n := e.keyCount(ten.Id); n != 0 {
		t.Fatalf("%d keys created while the creation was held", n)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended('configvault.signing-key:' || $1::uuid::text, 0))", ten.Id); err != nil {
		t.Fatal(err)
	}
	verify(t, e.sign(ten.Id, nil, someClaims), e.tenantJWKS(ten.Id), "at+jwt")
}

// A new key is published before it signs: verifiers keep a key set for up
// to a minute, and would refuse a token signed by a key they have not
// fetched. Until the new key has been published that long, the older one
// goes on signing; an owner's only key signs at once.
func TestANewKeySignsOnceItHasBeenPublishedAMinute(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("rollover")
	first := e.sign(ten.Id, nil, someClaims) // the first key, created on need, signs at once
	second := e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	if tok := e.sign(ten.Id, nil, someClaims); tok.Kid != first.Kid {
		t.Fatalf("a key published a moment ago signs (%s), want the older %s", tok.Kid, first.Kid)
	}
	verify(t, first, e.tenantJWKS(ten.Id), "at+jwt")
	if _, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET created_at = now() - interval '61 seconds' WHERE id = $1`, second.Id); err != nil {
		t.Fatal(err)
	}
	configvault.PassActiveKeyTTL(e.svc) // the choice is cached for activeKeyTTL
	if tok := e.sign(ten.Id, nil, someClaims); tok.Kid != second.Kid {
		t.Fatalf("a minute on, signed by %s, want the newer %s", tok.Kid, second.Kid)
	}
}

// SignToken caches its choice of key per owner, and every change through the
// service drops it before it is answered: a key revoked, deactivated or
// outranked by a new site key here never signs after that request.
func TestSigningKeyChoiceIsCachedAndDroppedOnChange(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("cached-choice")
	first := e.sign(ten.Id, nil, someClaims)
	if n := configvault.CachedActiveKeys(e.svc); n != 0 {
		t.Fatalf("%d cached choices after the first key was created on need, want 0", n)
	}
	e.sign(ten.Id, nil, someClaims)
	if n := configvault.CachedActiveKeys(e.svc); n != 1 {
		t.Fatalf("%d cached choices after a sign, want 1", n)
	}
	// Cached: a change behind the service's back is not seen within the TTL.
	if _, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET status = 'inactive', version = version + 1 WHERE kid = $1`, first.Kid); err != nil {
		t.Fatal(err)
	}
	if tok := e.sign(ten.Id, nil, someClaims); tok.Kid != first.Kid {
		t.Fatalf("signed by %s within the TTL, want the cached %s", tok.Kid, first.Kid)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE configvault.signing_keys SET status = 'active', version = version + 1 WHERE kid = $1`, first.Kid); err != nil {
		t.Fatal(err)
	}

	// Revoked through the service: dropped before the answer.
	rv, _ := e.c.RevokeKeyWithResponse(ctx, first.Kid, nil)
	status(t, rv.StatusCode(), 200, rv.Body)
	if n := configvault.CachedActiveKeys(e.svc); n != 0 {
		t.Fatalf("%d cached choices after a revoke, want 0", n)
	}
	second := e.sign(ten.Id, nil, someClaims)
	if second.Kid == first.Kid {
		t.Fatal("the revoked key signed after its revoke was answered")
	}
	e.sign(ten.Id, nil, someClaims)

	// A new key of the tenant drops the tenant's choices too.
	e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.ES256)})
	if n := configvault.CachedActiveKeys(e.svc); n != 0 {
		t.Fatalf("%d cached choices after a key was created, want 0", n)
	}
	e.sign(ten.Id, nil, someClaims)

	// Deactivated through the service.
	d, _ := e.c.DeactivateKeyWithResponse(ctx, second.Kid, nil)
	status(t, d.StatusCode(), 200, d.Body)
	if tok := e.sign(ten.Id, nil, someClaims); tok.Kid == second.Kid {
		t.Fatal("a deactivated key signed after its deactivation was answered")
	}

	// An inactive tenant signs nothing at once.
	e.sign(ten.Id, nil, someClaims)
	u, _ := e.c.UpdateTenantWithResponse(ctx, ten.Id, nil, client.TenantUpdate{IsActive: ptr(false)})
	status(t, u.StatusCode(), 200, u.Body)
	e.signStatus(ten.Id, nil, someClaims, 404) // not the cached key
}
