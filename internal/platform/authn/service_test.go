package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

var platformTenant = uuid.MustParse("00000000-0000-7000-8000-000000000001")

// testServiceKeys is one deployment's key pairs, one per service identity.
var testServiceKeys = GenerateServiceKeys()

// process returns the service credentials of a process holding the private
// keys of the services named in private and every public key.
func process(t testing.TB, private ...string) *ServiceCredentials {
	t.Helper()
	keys := ServiceKeys{Private: map[string]ed25519.PrivateKey{}, Public: testServiceKeys.Public}
	for _, name := range private {
		keys.Private[name] = testServiceKeys.Private[name]
	}
	s, err := NewServiceCredentials(platformTenant, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refuseJWT stands in for the JWT verifier: it must never see a credential.
type refuseJWT struct{ calls int }

func (r *refuseJWT) Verify(context.Context, string) (Claims, error) {
	r.calls++
	return Claims{}, invalidToken(errMalformed)
}

// configVault is how Config Vault verifies: every identity may call it.
func configVault(s *ServiceCredentials) TokenVerifier {
	return s.Verifier("config-vault", ServiceIdentities(), &refuseJWT{})
}

func mint(t testing.TB, s *ServiceCredentials, caller, audience string) string {
	t.Helper()
	token, exp, err := s.Mint(caller, audience)
	if err != nil {
		t.Fatal(err)
	}
	if d := exp.Sub(s.now()); d > ServiceCredentialLifetime || d < ServiceCredentialLifetime-2*time.Second {
		t.Fatalf("expiry %s ahead, want %s", d, ServiceCredentialLifetime)
	}
	return token
}

func TestServiceCredentialAuthenticatesItsService(t *testing.T) {
	iam := process(t, "iam")
	vault := process(t) // a verifier holds no private key at all
	jwt := &refuseJWT{}
	v := vault.Verifier("config-vault", []string{"iam", "uam", "content"}, jwt)
	token := mint(t, iam, "iam", "config-vault")
	if !strings.HasPrefix(token, "svc2.iam.config-vault.") || len(token) > maxServiceCredential {
		t.Fatalf("credential %q", token)
	}
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Principal()
	if p.TenantID != platformTenant || p.Subject != "service:iam" || p.Service != "iam" || p.UserID != nil {
		t.Fatalf("principal %+v", p)
	}
	grants, _ := ServiceGrants("iam")
	if !slices.Equal(p.Scopes, grants) || !p.Has("tokens:sign", nil) || p.Has("users:write", nil) {
		t.Fatalf("scopes %v", p.Scopes)
	}
	if !slices.Equal(c.Audience, []string{"config-vault"}) {
		t.Fatalf("audience %v", c.Audience)
	}
	if jwt.calls != 0 {
		t.Fatal("a service credential reached the JWT verifier")
	}
	if _, err := v.Verify(context.Background(), "eyJ.a.b"); err == nil || jwt.calls != 1 {
		t.Fatal("other tokens must go to the JWT verifier")
	}
	// The accessors hand out copies: nobody changes the grants from outside.
	grants[0] = "tenants:write"
	if again, _ := ServiceGrants("iam"); again[0] == "tenants:write" {
		t.Fatal("ServiceGrants returned the table itself")
	}
	only := ServiceOnlyPermissions()
	only[0] = "users:read"
	if IsServiceOnly("users:read") || !IsServiceOnly("credentials:verify") {
		t.Fatal("ServiceOnlyPermissions returned the table itself")
	}
}

func TestServiceCredentialsThatMustFail(t *testing.T) {
	iam, uam, content := process(t, "iam"), process(t, "uam"), process(t, "content")
	now := time.Now()
	at := func(s *ServiceCredentials, d time.Duration) *ServiceCredentials {
		c := *s
		c.now = func() time.Time { return now.Add(d) }
		return &c
	}
	// sign makes a credential of any text under key, as an attacker holding
	// that key would.
	sign := func(key ed25519.PrivateKey, body string) string {
		return body + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(body)))
	}
	exp := strconv.FormatInt(now.Add(ServiceCredentialLifetime).Unix(), 10)
	valid := mint(t, iam, "iam", "config-vault")
	stranger := GenerateServiceKeys().Private["iam"] // a key of no deployment

	for name, tc := range map[string]struct {
		token string
		want  string // part of the logged reason
	}{
		"wrong audience":      {mint(t, iam, "iam", "uam"), "for uam, not config-vault"},
		"audience of another": {mint(t, uam, "uam", "content"), "for content"},
		"expired":             {mint(t, at(iam, -ServiceCredentialLifetime-ServiceCredentialSkew), "iam", "config-vault"), "expired"},
		"too far in the future": {sign(testServiceKeys.Private["iam"], "svc2.iam.config-vault."+
			strconv.FormatInt(now.Add(ServiceCredentialLifetime+ServiceCredentialSkew+2*time.Second).Unix(), 10)), "too far ahead"},
		"made a day ahead by a process whose clock is wrong": {mint(t, at(iam, 24*time.Hour), "iam", "config-vault"), "too far ahead"},
		"signed by content's key under iam's name":           {sign(testServiceKeys.Private["content"], "svc2.iam.config-vault."+exp), "bad signature for iam"},
		"signed by a key of no deployment under iam's name":  {sign(stranger, "svc2.iam.config-vault."+exp), "bad signature for iam"},
		"content's credential renamed to iam":                {strings.Replace(mint(t, content, "content", "config-vault"), "svc2.content.", "svc2.iam.", 1), "bad signature for iam"},
		"iam's credential renamed to uam":                    {strings.Replace(valid, "svc2.iam.", "svc2.uam.", 1), "bad signature for uam"},
		"audience changed after signing":                     {strings.Replace(mint(t, iam, "iam", "uam"), ".uam.", ".config-vault.", 1), "bad signature for iam"},
		"expiry moved":                                       {strings.Replace(valid, "."+exp+".", "."+strconv.FormatInt(now.Add(time.Minute).Unix(), 10)+".", 1), "bad signature"},
		"unknown service":                                    {sign(stranger, "svc2.billing.config-vault."+exp), "\"billing\" is not a caller"},
		"no signature":                                       {"svc2.iam.config-vault." + exp, "not svc2."},
		"empty signature":                                    {"svc2.iam.config-vault." + exp + ".", "malformed signature"},
		"signature cut":                                      {valid[:len(valid)-2], "malformed signature"},
		"signature padded":                                   {valid + "==", "malformed signature"},
		"prefix only":                                        {"svc2.", "not svc2."},
		"a dot too many":                                     {strings.Replace(valid, "svc2.iam.", "svc2.iam.x.", 1), "not svc2."},
		"upper-case service":                                 {strings.Replace(valid, "svc2.iam.", "svc2.IAM.", 1), "malformed service name"},
		"empty caller":                                       {strings.Replace(valid, "svc2.iam.", "svc2..", 1), "malformed service name"},
		"expiry with a leading zero":                         {strings.Replace(valid, "."+exp+".", ".0"+exp+".", 1), "malformed expiry"},
		"expiry with a sign":                                 {strings.Replace(valid, "."+exp+".", ".+"+exp+".", 1), "malformed expiry"},
		"expiry not a number":                                {strings.Replace(valid, "."+exp+".", ".soon.", 1), "malformed expiry"},
		"too long":                                           {valid + strings.Repeat("A", maxServiceCredential), "bytes"},
	} {
		_, err := at(process(t), 0).Verifier("config-vault", ServiceIdentities(), &refuseJWT{}).Verify(context.Background(), tc.token)
		switch {
		case !problem.Is(err, problem.KindUnauthorized) || !errors.Is(err, errServiceCredential):
			t.Errorf("%s: %v, want an invalid service credential", name, err)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: refused for %q, want a reason mentioning %q", name, err, tc.want)
		}
		// The same answer as any bad token: 401 with error="invalid_token".
		rec := httptest.NewRecorder()
		Challenge(rec, err)
		if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
			t.Errorf("%s: challenge %q", name, got)
		}
	}

	// A credential of a service the callee does not list as a caller, and
	// one of a service whose public key the process lacks.
	uamToken := mint(t, uam, "uam", "uam")
	if _, err := process(t).Verifier("uam", []string{"iam"}, &refuseJWT{}).Verify(context.Background(), uamToken); !errors.Is(err, errServiceCredential) {
		t.Errorf("a credential of a service that is no caller: %v", err)
	}
	onlyIAM, err := NewServiceCredentials(platformTenant, ServiceKeys{Public: map[string][]ed25519.PublicKey{"iam": testServiceKeys.Public["iam"]}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onlyIAM.Verifier("config-vault", ServiceIdentities(), &refuseJWT{}).Verify(context.Background(), mint(t, uam, "uam", "config-vault")); !errors.Is(err, errServiceCredential) {
		t.Errorf("a credential of a service whose public key is unknown: %v", err)
	}
}

// A credential whose signature verified once is not verified again, but
// every other check still runs each time: on the same verifier, a memoized
// credential is refused for another audience or once expired, and no
// variant of it (another signature, expiry or caller) rides on the memo.
func TestServiceCredentialSignatureIsCheckedOnce(t *testing.T) {
	iam := process(t, "iam")
	callee := process(t)
	now := time.Now()
	callee.now = func() time.Time { return now }
	vault := callee.Verifier("config-vault", ServiceIdentities(), &refuseJWT{})
	token := mint(t, iam, "iam", "config-vault")
	for range 2 {
		if _, err := vault.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(callee.signed.exp); n != 1 {
		t.Fatalf("%d credentials remembered; want 1", n)
	}
	body, sig, _ := strings.Cut(token[len("svc2."):], ".config-vault.")
	exp, sig, _ := strings.Cut(sig, ".")
	other := []byte(sig)
	other[5] ^= 1
	moved := []byte(exp)
	moved[len(moved)-1] = "10"[min(1, int(moved[len(moved)-1]-'0'))] // another last digit
	for name, variant := range map[string]string{
		"another signature": "svc2." + body + ".config-vault." + exp + "." + string(other),
		"expiry moved":      "svc2." + body + ".config-vault." + string(moved) + "." + sig,
		"renamed to uam":    strings.Replace(token, "svc2.iam.", "svc2.uam.", 1),
	} {
		if _, err := vault.Verify(context.Background(), variant); !errors.Is(err, errServiceCredential) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if _, err := callee.Verifier("uam", []string{"iam"}, &refuseJWT{}).Verify(context.Background(), token); err == nil ||
		!strings.Contains(err.Error(), "for config-vault, not uam") {
		t.Errorf("for another audience: %v", err)
	}
	now = now.Add(ServiceCredentialLifetime + ServiceCredentialSkew)
	if _, err := vault.Verify(context.Background(), token); !errors.Is(err, errExpired) {
		t.Errorf("expired: %v", err)
	}
}

// Within the allowed clock skew a credential still passes; just beyond it,
// no longer.
func TestServiceCredentialClockSkew(t *testing.T) {
	iam := process(t, "iam")
	token := mint(t, iam, "iam", "uam")
	exp := time.Now().Add(ServiceCredentialLifetime).Truncate(time.Second)
	for d, ok := range map[time.Duration]bool{
		-ServiceCredentialLifetime - ServiceCredentialSkew + 2*time.Second: true,  // the callee's clock is 30 s behind
		ServiceCredentialSkew - 2*time.Second:                              true,  // 28 s after expiry
		ServiceCredentialSkew + time.Second:                                false, // 31 s after expiry
	} {
		callee := process(t)
		callee.now = func() time.Time { return exp.Add(d) }
		_, err := callee.Verifier("uam", []string{"iam"}, &refuseJWT{}).Verify(context.Background(), token)
		if (err == nil) != ok {
			t.Errorf("at expiry %+v: %v, want accepted %v", d, err, ok)
		}
	}
}

// A process mints only the credentials of the services whose private keys
// it holds: content's process cannot make iam's.
func TestServiceCredentialsNeedTheirPrivateKey(t *testing.T) {
	content := process(t, "content")
	if !content.CanMint("content") || content.CanMint("iam") || !content.Accepts("iam") {
		t.Fatal("CanMint or Accepts")
	}
	if _, _, err := content.Mint("iam", "config-vault"); !errors.Is(err, ErrNoServiceKey) {
		t.Fatalf("content minting iam's credential: %v", err)
	}
	if _, err := content.Transport("iam", "config-vault", nil); !errors.Is(err, ErrNoServiceKey) {
		t.Fatalf("content's transport as iam: %v", err)
	}
	if _, _, err := content.Mint("content", "Config Vault"); err == nil {
		t.Fatal("minted for an audience that is no service name")
	}
}

func TestServiceKeysParseAndCheck(t *testing.T) {
	gen := GenerateServiceKeys()
	private, public := FormatServicePrivateKeys(gen.Private), FormatServicePublicKeys(gen.Public)
	if !strings.HasPrefix(private, "content=") || strings.Count(private, ",") != len(ServiceIdentities())-1 {
		t.Fatalf("formatted %q", private)
	}
	gotPriv, err := ParseServicePrivateKeys(" " + strings.ReplaceAll(private, ",", " , ") + ",")
	if err != nil {
		t.Fatal(err)
	}
	gotPub, err := ParseServicePublicKeys(public)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ServiceIdentities() {
		if !gotPriv[name].Equal(gen.Private[name]) || len(gotPub[name]) != 1 || !gotPub[name][0].Equal(gen.Public[name][0]) {
			t.Fatalf("%s: keys changed in the round trip", name)
		}
	}
	seed := base64.StdEncoding.EncodeToString(gen.Private["iam"].Seed())
	if k, err := ParseServicePrivateKeys("iam=" + base64.RawURLEncoding.EncodeToString(gen.Private["iam"].Seed())); err != nil || !k["iam"].Equal(gen.Private["iam"]) {
		t.Fatalf("URL-safe base64 without padding: %v", err)
	}
	for in, want := range map[string]string{
		"iam":                             "entry 1 is not name=<base64 key>",
		"iam=":                            "entry 1 is not name=<base64 key>",
		"uam=" + seed + ",=" + seed:       "entry 2 is not name=<base64 key>",
		"billing=" + seed:                 `"billing" is not a service that calls others (known: content, iam, uam)`,
		"config-vault=" + seed:            `"config-vault" is not a service that calls others`,
		"IAM=" + seed:                     `"IAM" is not a service name`,
		"iam=" + seed + ",iam=" + seed:    "iam is listed twice",
		"iam=" + seed[:20]:                "the key of iam is not base64",
		"iam=" + seed[:40] + "===":        "the key of iam is not base64",
		"iam=" + seed + seed[:4]:          "the key of iam is not",
		"iam=" + public[len("content="):]: "", // a public key has 32 bytes too; checked below
	} {
		_, err := ParseServicePrivateKeys(in)
		switch {
		case want == "":
			continue
		case err == nil || !strings.Contains(err.Error(), want):
			t.Errorf("%q: %v, want %q", in, err, want)
		case strings.Contains(err.Error(), seed[:20]):
			t.Errorf("%q: the error quotes the key: %v", in, err)
		}
	}
	if _, err := ParseServicePublicKeys("iam=" + base64.StdEncoding.EncodeToString(gen.Private["iam"])); err == nil || !strings.Contains(err.Error(), "32-byte Ed25519 public key") {
		t.Errorf("a 64-byte private key as a public key: %v", err)
	}
	iamPub := "iam=" + base64.StdEncoding.EncodeToString(gen.Public["iam"][0])
	if _, err := ParseServicePublicKeys(iamPub + "," + iamPub); err == nil || !strings.Contains(err.Error(), "the same key of iam is listed twice") {
		t.Errorf("one public key twice: %v", err)
	}
	// Two keys of one service: while its key is replaced.
	other := GenerateServiceKeys()
	two, err := ParseServicePublicKeys(iamPub + "," + FormatServicePublicKeys(map[string][]ed25519.PublicKey{"iam": other.Public["iam"]}))
	if err != nil || len(two["iam"]) != 2 || !two["iam"][1].Equal(other.Public["iam"][0]) {
		t.Errorf("two public keys of iam: %v %v", two, err)
	}

	// Public keys beside the private key of the same service must include its own.
	if _, err := NewServiceCredentials(platformTenant, ServiceKeys{
		Private: map[string]ed25519.PrivateKey{"iam": gen.Private["iam"]},
		Public:  map[string][]ed25519.PublicKey{"iam": gen.Public["uam"]},
	}); err == nil || !strings.Contains(err.Error(), "belongs to its private key") {
		t.Errorf("mismatched key pair: %v", err)
	}
	if _, err := NewServiceCredentials(platformTenant, ServiceKeys{Public: map[string][]ed25519.PublicKey{"billing": gen.Public["iam"]}}); err == nil {
		t.Error("a public key of no service identity")
	}
	if _, err := NewServiceCredentials(uuid.Nil, gen); err == nil {
		t.Error("no platform tenant")
	}
	// A public key comes with its private key.
	s, err := NewServiceCredentials(platformTenant, ServiceKeys{Private: map[string]ed25519.PrivateKey{"uam": gen.Private["uam"]}})
	if err != nil || !s.Accepts("uam") || s.Accepts("iam") {
		t.Fatalf("derived public keys: %v", err)
	}
	if !(ServiceKeys{}).IsZero() || gen.IsZero() {
		t.Error("IsZero")
	}
}

// A service's key is replaced without an outage: its callees accept the old
// and the new key for a while, the service switches, then the old key goes.
func TestServiceKeyReplacement(t *testing.T) {
	old, next := GenerateServiceKeys(), GenerateServiceKeys()
	callee := func(pubs ...ed25519.PublicKey) TokenVerifier {
		s, err := NewServiceCredentials(platformTenant, ServiceKeys{Public: map[string][]ed25519.PublicKey{"iam": pubs}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Verifier("uam", []string{"iam"}, &refuseJWT{})
	}
	caller := func(k ServiceKeys) string {
		s, err := NewServiceCredentials(platformTenant, ServiceKeys{Private: map[string]ed25519.PrivateKey{"iam": k.Private["iam"]}})
		if err != nil {
			t.Fatal(err)
		}
		return mint(t, s, "iam", "uam")
	}
	fromOld, fromNew := caller(old), caller(next)
	for name, tc := range map[string]struct {
		v      TokenVerifier
		token  string
		accept bool
	}{
		"before: the old key":     {callee(old.Public["iam"][0]), fromOld, true},
		"before: the new key":     {callee(old.Public["iam"][0]), fromNew, false},
		"during: the old key":     {callee(old.Public["iam"][0], next.Public["iam"][0]), fromOld, true},
		"during: the new key":     {callee(old.Public["iam"][0], next.Public["iam"][0]), fromNew, true},
		"after: the old key gone": {callee(next.Public["iam"][0]), fromOld, false},
	} {
		if _, err := tc.v.Verify(context.Background(), tc.token); (err == nil) != tc.accept {
			t.Errorf("%s: %v, want accepted %v", name, err, tc.accept)
		}
	}
}

// Only a service's principal holds a service-only permission, whatever a
// token claims.
func TestServiceOnlyPermissionsNeedAService(t *testing.T) {
	user := Principal{TenantID: platformTenant, Scopes: []string{"tokens:sign", "credentials:verify", "users:read"}}
	for _, perm := range ServiceOnlyPermissions() {
		if user.Has(perm, nil) {
			t.Errorf("a user's token grants %s", perm)
		}
	}
	if !user.Has("users:read", nil) {
		t.Error("ordinary permissions must still count")
	}
}

func TestServiceTransportRenewsItsCredential(t *testing.T) {
	s := process(t, "uam")
	now := time.Now()
	s.now = func() time.Time { return now }
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	rt, err := s.Transport("uam", "config-vault", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt}
	get := func() {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("Authorization") != "" {
			t.Fatal("the transport changed the caller's request")
		}
	}
	get()
	get()
	now = now.Add(ServiceCredentialLifetime - 30*time.Second) // within a minute of expiry
	get()
	if len(seen) != 3 || seen[0] != seen[1] || seen[1] == seen[2] || !strings.HasPrefix(seen[0], "Bearer svc2.uam.config-vault.") {
		t.Fatalf("credentials sent: %q", seen)
	}
	callee := process(t)
	callee.now = s.now
	if _, err := configVault(callee).Verify(context.Background(), strings.TrimPrefix(seen[2], "Bearer ")); err != nil {
		t.Fatalf("the renewed credential: %v", err)
	}
}

// FuzzServiceCredential: no input panics, and none verifies unless it is,
// byte for byte, the genuine credential of the corpus.
func FuzzServiceCredential(f *testing.F) {
	iam := process(f, "iam")
	genuine, _, err := iam.Mint("iam", "config-vault")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add("svc2.")
	f.Add("svc2.iam.config-vault.1.")
	f.Add(genuine[:len(genuine)-1] + "B")
	var random [64]byte
	_, _ = rand.Read(random[:])
	f.Add(genuine[:strings.LastIndexByte(genuine, '.')+1] + base64.RawURLEncoding.EncodeToString(random[:]))
	v := configVault(process(f))
	f.Fuzz(func(t *testing.T, token string) {
		_, err := v.Verify(context.Background(), token)
		if err == nil && token != genuine {
			t.Fatalf("a forged credential verified: %q", token)
		}
		if err != nil && !problem.Is(err, problem.KindUnauthorized) {
			t.Fatalf("error of kind %v: %v", problem.KindOf(err), err)
		}
	})
}
