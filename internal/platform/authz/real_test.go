package authz

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/problem"
)

const realAudience = "saas"

var realPrefix = authn.DefaultIssuerPrefix("https://api.example.test")

// issuer signs access tokens as the IAM service does, with one ES256 key
// per tenant, and serves the key sets to an authn.Verifier.
type issuer struct {
	keys map[uuid.UUID]*ecdsa.PrivateKey
	sets map[uuid.UUID]jwk.Set
	kids map[uuid.UUID]string
}

func newIssuer(tb testing.TB, tenants ...uuid.UUID) *issuer {
	tb.Helper()
	is := &issuer{keys: map[uuid.UUID]*ecdsa.PrivateKey{}, sets: map[uuid.UUID]jwk.Set{}, kids: map[uuid.UUID]string{}}
	for _, t := range tenants {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		pub, err := jwk.FromRaw(priv.Public())
		if err != nil {
			tb.Fatal(err)
		}
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			tb.Fatal(err)
		}
		kid := base64.RawURLEncoding.EncodeToString(tp)
		for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: "ES256", jwk.KeyUsageKey: "sig"} {
			if err := pub.Set(k, v); err != nil {
				tb.Fatal(err)
			}
		}
		set := jwk.NewSet()
		if err := set.AddKey(pub); err != nil {
			tb.Fatal(err)
		}
		is.keys[t], is.sets[t], is.kids[t] = priv, set, kid
	}
	return is
}

func (is *issuer) TenantKeys(_ context.Context, tenant uuid.UUID) (jwk.Set, error) {
	if set, ok := is.sets[tenant]; ok {
		return set, nil
	}
	return nil, problem.NotFound("no tenant %s", tenant)
}

func (is *issuer) verifier(tb testing.TB) *authn.Verifier {
	tb.Helper()
	v, err := authn.New(authn.Options{Keys: is, Audience: realAudience, IssuerPrefix: realPrefix})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// token is a user's access token of tenant with scope.
func (is *issuer) token(tb testing.TB, tenant uuid.UUID, scope string) string {
	tb.Helper()
	now := time.Now().Unix()
	payload, err := json.Marshal(map[string]any{
		"iss": realPrefix + tenant.String(), "sub": "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", "sub_type": "user",
		"aud": realAudience, "exp": now + 900, "iat": now, "jti": uuid.NewString(), "tenant_id": tenant.String(),
		"scope": scope,
	})
	if err != nil {
		tb.Fatal(err)
	}
	h := jws.NewHeaders()
	for k, v := range map[string]any{"kid": is.kids[tenant], "typ": "at+jwt"} {
		if err := h.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256, is.keys[tenant], jws.WithProtectedHeaders(h)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(tok)
}

// realServer mounts testSpec with the platform's verifier; authorize false
// mounts it without enforcement, as a baseline.
func realServer(tb testing.TB, v Verifier, authorize bool) http.Handler {
	tb.Helper()
	doc := loadSpec(tb, testSpec)
	api := httpapi.API{Name: "t", Prefix: "/t/v1", Spec: doc, Handler: http.HandlerFunc(whoami)}
	if authorize {
		a, err := New(doc, Options{Verifier: v, PlatformTenantID: platform})
		if err != nil {
			tb.Fatal(err)
		}
		api.Authorize = a.Authorize
	}
	h, err := httpapi.Root([]httpapi.API{api}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// *authn.Verifier plugs in as it is, and its refusals keep their challenges.
func TestWithThePlatformVerifier(t *testing.T) {
	is := newIssuer(t, tenantA, tenantB)
	h := realServer(t, is.verifier(t), true)
	good := is.token(t, tenantA, "things:read")
	tampered := good[:len(good)-4] + "AAAA"
	if tampered == good {
		tampered = good[:len(good)-4] + "BBBB"
	}
	things := "/t/v1/tenants/" + tenantA.String() + "/things"
	unknown := uuid.New()
	stranger := newIssuer(t, unknown)
	for _, tc := range []struct {
		name, path, token string
		status            int
		challenge         string
	}{
		{"valid", things, good, 200, ""},
		{"tampered", things, tampered, 401, challengeToken},
		{"another tenant's", things, is.token(t, tenantB, "things:read"), 404, ""},
		{"an unknown tenant's", things, stranger.token(t, unknown, "things:read"), 401, challengeToken},
		{"without the permission", things, is.token(t, tenantA, "sites:read"), 403, challengeScope("things:read")},
	} {
		rec := do(h, "GET", tc.path, "", "Bearer "+tc.token)
		if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: %d %q %s", tc.name, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
		}
	}
}

// The cost of one read through the whole chain (routing, metrics, access
// log, validation), with and without enforcement: `go test -bench Read`.
//
//	open          an open operation: no token looked at
//	unenforced    a protected operation served without an Authorizer (the baseline)
//	authenticated the same operation with an ES256 token verified by authn.Verifier
//	                (warm key cache), tenant matched, permission checked
func BenchmarkRead(b *testing.B) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	is := newIssuer(b, tenantA)
	v := is.verifier(b)
	tok := "Bearer " + is.token(b, tenantA, "things:read")
	things := "/t/v1/tenants/" + tenantA.String() + "/things"
	run := func(h http.Handler, method, target, auth string, want int) func(*testing.B) {
		return func(b *testing.B) {
			if rec := do(h, method, target, "", auth); rec.Code != want {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(method, target, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
	}
	enforced := realServer(b, v, true)
	b.Run("open", run(enforced, "POST", "/t/v1/open", "", 200))
	b.Run("unenforced", run(realServer(b, v, false), "GET", things, "", 200))
	b.Run("authenticated", run(enforced, "GET", things, tok, 200))
}
