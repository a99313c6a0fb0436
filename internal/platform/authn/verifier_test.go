package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestVerifyValidTokens(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			claims := e.claims(e.tenant)
			tok := sign(t, e.keys[alg], "", defaultHeaders(e.keys[alg]), claims)
			c, err := e.v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.TenantID != e.tenant || c.Subject != testUser.String() || c.UserID == nil || *c.UserID != testUser ||
				c.SubjectType != SubTypeUser || c.ClientID != "console" || c.ID != claims["jti"] ||
				c.Issuer != testPrefix+e.tenant.String() || !slices.Equal(c.Audience, []string{testAudience}) {
				t.Fatalf("claims %+v", c)
			}
			if !c.ExpiresAt.Equal(e.clock.Now().Add(900*time.Second)) || !c.IssuedAt.Equal(e.clock.Now()) || !c.NotBefore.Equal(e.clock.Now()) {
				t.Fatalf("times exp %s iat %s nbf %s", c.ExpiresAt, c.IssuedAt, c.NotBefore)
			}
			if !slices.Equal(c.Scopes, []string{"users:read", "content:read"}) || !slices.Equal(c.Roles, []string{"editor"}) {
				t.Fatalf("scopes %q roles %q", c.Scopes, c.Roles)
			}
			if got := c.SiteScopes[testSite]; !slices.Equal(got, []string{"content:write", "content:publish"}) || len(c.SiteScopes) != 1 {
				t.Fatalf("site scopes %v", c.SiteScopes)
			}
			p := c.Principal()
			if p.TenantID != e.tenant || p.UserID == nil || *p.UserID != testUser || p.Subject != testUser.String() || p.ClientID != "console" {
				t.Fatalf("principal %+v", p)
			}
			if !p.Has("content:read", nil) || !p.Has("content:write", &testSite) || p.Has("content:write", nil) {
				t.Fatal("Has disagrees with the token's permissions")
			}
		})
	}
}

func TestVerifyAcceptsVariants(t *testing.T) {
	e := newEnv(t)
	k := e.keys["ES256"]
	now := e.clock.Now().Unix()
	client := with(e.claims(e.tenant), map[string]any{"sub": "svc-importer", "sub_type": "client", "client_id": "svc-importer", "site_scope": nil, "roles": nil})
	cases := []struct {
		name    string
		headers hdr
		claims  map[string]any
		check   func(t *testing.T, c Claims)
	}{
		{"typ upper case", hdr{"kid": k.kid, "typ": "AT+JWT"}, e.claims(e.tenant), nil},
		{"typ with application/ prefix", hdr{"kid": k.kid, "typ": "application/at+jwt"}, e.claims(e.tenant), nil},
		{"typ mixed case prefix", hdr{"kid": k.kid, "typ": "Application/At+Jwt"}, e.claims(e.tenant), nil},
		{"aud array", defaultHeaders(k), with(e.claims(e.tenant), map[string]any{"aud": []string{"https://other.test", testAudience}}), nil},
		{"iat within skew", defaultHeaders(k), with(e.claims(e.tenant), map[string]any{"iat": now + 25, "nbf": now + 25}), nil},
		{"no nbf", defaultHeaders(k), with(e.claims(e.tenant), map[string]any{"nbf": nil}), func(t *testing.T, c Claims) {
			if !c.NotBefore.IsZero() {
				t.Fatalf("NotBefore %s", c.NotBefore)
			}
		}},
		{"fractional dates", defaultHeaders(k), with(e.claims(e.tenant), map[string]any{"exp": float64(now) + 60.5}), nil},
		{"no scope", defaultHeaders(k), with(e.claims(e.tenant), map[string]any{"scope": nil, "site_scope": nil}), func(t *testing.T, c Claims) {
			if len(c.Scopes) != 0 || len(c.SiteScopes) != 0 || c.Principal().Has("users:read", nil) {
				t.Fatalf("scopes %v %v", c.Scopes, c.SiteScopes)
			}
		}},
		{"client token", defaultHeaders(k), client, func(t *testing.T, c Claims) {
			p := c.Principal()
			if c.UserID != nil || p.UserID != nil || c.SubjectType != SubTypeClient || p.ClientID != "svc-importer" || p.Subject != "svc-importer" {
				t.Fatalf("claims %+v principal %+v", c, p)
			}
		}},
		{"jku, x5u and jwk headers are ignored on a valid token", hdr{"kid": k.kid, "typ": "at+jwt", "jku": "http://127.0.0.1:1/jwks", "x5u": "http://127.0.0.1:1/x5u", "jwk": e.keys["attacker"].pub}, e.claims(e.tenant), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.v.Verify(context.Background(), sign(t, k, "", tc.headers, tc.claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

// TestVerifyRejectsAttacks is the attack table and more: each token
// is valid but for one thing, and must be refused for that thing.
func TestVerifyRejectsAttacks(t *testing.T) {
	ks := testKeys(t)
	rsaKey, ecKey := ks["RS256"], ks["ES256"]
	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, err := json.Marshal(rsaKey.pub)
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	otherTenant := uuid.Must(uuid.NewV7())

	cases := []struct {
		name   string
		reason error
		token  func(e *env) string
	}{
		{"alg none, no signature", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "none", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), nil)
		}},
		{"alg none with a signature", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "none", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), func([]byte) []byte { return []byte("x") })
		}},
		{"alg None", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "None", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), nil)
		}},
		{"alg rs256 lower case", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "rs256", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), func([]byte) []byte { return []byte("x") })
		}},
		{"no alg", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), func([]byte) []byte { return []byte("x") })
		}},
		{"HS256 keyed with the RSA public key PEM", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), hs256(pubPEM))
		}},
		{"HS256 keyed with the RSA public key JWK", errAlgorithm, func(e *env) string {
			return rawToken(map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": rsaKey.kid}, e.claims(e.tenant), hs256(pubJWK))
		}},
		{"RS384 not in the allowlist", errAlgorithm, func(e *env) string {
			return sign(t, rsaKey, "RS384", defaultHeaders(rsaKey), e.claims(e.tenant))
		}},
		{"PS256 header on the RS256 key", errKeyAlgorithm, func(e *env) string {
			return sign(t, rsaKey, "PS256", defaultHeaders(rsaKey), e.claims(e.tenant))
		}},
		{"RS256 header on the PS256 key", errKeyAlgorithm, func(e *env) string {
			return sign(t, ks["PS256"], "RS256", defaultHeaders(ks["PS256"]), e.claims(e.tenant))
		}},
		{"EdDSA header naming the ES256 key", errKeyAlgorithm, func(e *env) string {
			return sign(t, ks["EdDSA"], "", defaultHeaders(ecKey), e.claims(e.tenant))
		}},
		{"expired", errExpired, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"exp": e.clock.Now().Unix() - 1, "iat": e.clock.Now().Unix() - 901}))
		}},
		{"expiring now", errExpired, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"exp": e.clock.Now().Unix(), "iat": e.clock.Now().Unix() - 900}))
		}},
		{"not yet valid (nbf in the future)", errNotYetValid, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"nbf": e.clock.Now().Unix() + 300}))
		}},
		{"nbf just beyond skew", errNotYetValid, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"nbf": e.clock.Now().Unix() + 31}))
		}},
		{"iat in the future beyond skew", errNotYetValid, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iat": e.clock.Now().Unix() + 60, "nbf": nil}))
		}},
		{"wrong aud", errAudience, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"aud": "https://other.test"}))
		}},
		{"aud array without ours", errAudience, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"aud": []string{"a", "b"}}))
		}},
		{"no aud", errAudience, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"aud": nil}))
		}},
		{"wrong iss host", errIssuer, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iss": "https://evil.test/iam/v1/tenants/" + e.tenant.String()}))
		}},
		{"iss with a trailing slash", errIssuer, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iss": testPrefix + e.tenant.String() + "/"}))
		}},
		{"iss with an upper-case tenant id", errIssuer, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iss": testPrefix + strings.ToUpper(e.tenant.String())}))
		}},
		{"no iss", errIssuer, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iss": nil}))
		}},
		{"iss of another tenant than tenant_id", errTenant, func(e *env) string {
			// Tenant B's key signs a token whose iss is B's but whose tenant_id is A's.
			b := ks["other-RS256"]
			e.src.put(otherTenant, b)
			return sign(t, b, "", defaultHeaders(b), with(e.claims(otherTenant), map[string]any{"tenant_id": e.tenant.String()}))
		}},
		{"tenant_id upper case", errTenant, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"tenant_id": strings.ToUpper(e.tenant.String())}))
		}},
		{"no tenant_id", errTenant, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"tenant_id": nil}))
		}},
		{"wrong tenant's key under its own kid", errUnknownKey, func(e *env) string {
			b := ks["other-RS256"]
			e.src.put(otherTenant, b)
			return sign(t, b, "", defaultHeaders(b), e.claims(e.tenant))
		}},
		{"wrong tenant's key under this tenant's kid", errSignature, func(e *env) string {
			return sign(t, ks["other-RS256"], "", defaultHeaders(rsaKey), e.claims(e.tenant))
		}},
		{"unknown kid", errUnknownKey, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": "no-such-kid", "typ": "at+jwt"}, e.claims(e.tenant))
		}},
		{"no kid", errMalformed, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"typ": "at+jwt"}, e.claims(e.tenant))
		}},
		{"tampered payload", errSignature, func(e *env) string {
			tok := e.token("RS256")
			parts := strings.Split(tok, ".")
			forged := rawToken(map[string]string{}, with(e.claims(e.tenant), map[string]any{"scope": "tenants:write"}), nil)
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}},
		{"tampered ES256 payload", errSignature, func(e *env) string {
			parts := strings.Split(e.token("ES256"), ".")
			forged := rawToken(map[string]string{}, with(e.claims(e.tenant), map[string]any{"sub": uuid.NewString()}), nil)
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}},
		{"tampered header", errSignature, func(e *env) string {
			parts := strings.Split(e.token("EdDSA"), ".")
			forged := rawToken(map[string]string{"alg": "EdDSA", "kid": ks["EdDSA"].kid, "typ": "AT+JWT"}, map[string]string{}, nil)
			return strings.Split(forged, ".")[0] + "." + parts[1] + "." + parts[2]
		}},
		{"tampered signature", errSignature, func(e *env) string {
			parts := strings.Split(e.token("PS256"), ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			sig[len(sig)/2] ^= 1
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}},
		{"embedded jwk header with the attacker's key", errUnknownKey, func(e *env) string {
			a := ks["attacker"]
			return sign(t, a, "", hdr{"kid": a.kid, "typ": "at+jwt", "jwk": a.pub}, e.claims(e.tenant))
		}},
		{"embedded jwk header with the attacker's key under the tenant's kid", errSignature, func(e *env) string {
			a := ks["attacker"]
			pub, _ := a.pub.Clone()
			_ = pub.Set(jwk.KeyIDKey, rsaKey.kid)
			return sign(t, a, "", hdr{"kid": rsaKey.kid, "typ": "at+jwt", "jwk": pub}, e.claims(e.tenant))
		}},
		{"missing typ", errType, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": rsaKey.kid}, e.claims(e.tenant))
		}},
		{"typ JWT", errType, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": rsaKey.kid, "typ": "JWT"}, e.claims(e.tenant))
		}},
		{"typ application/jwt", errType, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": rsaKey.kid, "typ": "application/jwt"}, e.claims(e.tenant))
		}},
		{"typ at+jwt with a suffix", errType, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": rsaKey.kid, "typ": "at+jwt2"}, e.claims(e.tenant))
		}},
		{"crit header", errMalformed, func(e *env) string {
			return sign(t, rsaKey, "", hdr{"kid": rsaKey.kid, "typ": "at+jwt", "crit": []string{"exp"}}, e.claims(e.tenant))
		}},
		{"missing exp", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"exp": nil}))
		}},
		{"exp as a string", errMalformed, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"exp": "9999999999"}))
		}},
		{"exp null", errMalformed, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"exp": json.RawMessage("null")}))
		}},
		{"missing iat", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"iat": nil}))
		}},
		{"missing jti", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"jti": nil}))
		}},
		{"missing sub", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"sub": nil}))
		}},
		{"missing sub_type", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"sub_type": nil}))
		}},
		// A service's principal acts across tenants (authz): only a verified
		// service credential may yield one, never a signed token.
		{"a token claiming to be a service", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"sub_type": "service", "sub": "service:iam", "client_id": "service:iam"}))
		}},
		{"user sub not a UUID", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"sub": "alice"}))
		}},
		{"client token whose client_id is not its sub", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"sub_type": "client", "sub": "a", "client_id": "b"}))
		}},
		{"scope with a quote", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"scope": `users:read "x`}))
		}},
		{"site_scope key not a UUID", errClaims, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"site_scope": map[string]string{"site-1": "content:write"}}))
		}},
		{"oversize token", errTooLarge, func(e *env) string {
			return sign(t, rsaKey, "", defaultHeaders(rsaKey), with(e.claims(e.tenant), map[string]any{"roles": []string{strings.Repeat("r", MaxTokenSize)}}))
		}},
		{"empty", errMalformed, func(*env) string { return "" }},
		{"two parts", errMalformed, func(*env) string { return "eyJhbGciOiJub25lIn0.e30" }},
		{"four parts", errMalformed, func(e *env) string { return e.token("RS256") + ".x" }},
		{"padded base64", errMalformed, func(e *env) string {
			parts := strings.Split(e.token("RS256"), ".")
			return parts[0] + "=." + parts[1] + "." + parts[2]
		}},
		{"header not an object", errMalformed, func(e *env) string {
			return rawToken([]string{"RS256"}, e.claims(e.tenant), func([]byte) []byte { return []byte("x") })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			// An unknown kid must cause a refresh: warm the cache, then let
			// the clock pass the refresh interval.
			if _, err := e.v.Verify(context.Background(), e.token("RS256")); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			e.clock.Advance(DefaultMinRefreshInterval)
			tok := tc.token(e)
			before := e.src.count(e.tenant)
			_, err := e.v.Verify(context.Background(), tok)
			wantUnauthorized(t, err, tc.reason)
			if tc.reason == errUnknownKey && e.src.count(e.tenant) != before+1 {
				t.Fatalf("unknown kid: %d fetches after the warm-up, want 1 refresh", e.src.count(e.tenant)-before)
			}
		})
	}
}

// The HS256 case above signs by hand; this signs with jwx too, keyed by the
// PEM and JWK bytes of the tenant's RSA public key, and checks jwx made a
// well-formed HS256 token that is still refused.
func TestVerifyRejectsHS256SignedWithPublicKeyByJWX(t *testing.T) {
	e := newEnv(t)
	k := e.keys["RS256"]
	der, _ := x509.MarshalPKIXPublicKey(k.priv.Public())
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkBytes, _ := json.Marshal(k.pub)
	for name, secret := range map[string][]byte{"PEM": pemBytes, "JWK": jwkBytes} {
		t.Run(name, func(t *testing.T) {
			payload, _ := json.Marshal(e.claims(e.tenant))
			h := jws.NewHeaders()
			_ = h.Set(jws.KeyIDKey, k.kid)
			_ = h.Set(jws.TypeKey, "at+jwt")
			tok, err := jws.Sign(payload, jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(h)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(tok, jws.WithKey(jwa.HS256, secret)); err != nil {
				t.Fatalf("jwx cannot verify its own HS256 token: %v", err)
			}
			_, err = e.v.Verify(context.Background(), string(tok))
			wantUnauthorized(t, err, errAlgorithm)
		})
	}
}

// TestVerifyIgnoresJKU: a token whose jku (and x5u) points at an attacker's
// server serving the attacker's key is refused because its kid is not in the
// tenant's set, and the server is never contacted.
func TestVerifyIgnoresJKU(t *testing.T) {
	e := newEnv(t)
	a := e.keys["attacker"]
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		set := jwk.NewSet()
		_ = set.AddKey(a.pub)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	// The server works: a client that followed jku would get the key.
	res, err := http.Get(srv.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	hits.Store(0)

	for name, h := range map[string]hdr{
		"jku":                     {"kid": a.kid, "typ": "at+jwt", "jku": srv.URL + "/jwks.json"},
		"x5u":                     {"kid": a.kid, "typ": "at+jwt", "x5u": srv.URL + "/cert.pem"},
		"jku with the tenant kid": {"kid": e.keys["RS256"].kid, "typ": "at+jwt", "jku": srv.URL + "/jwks.json"},
	} {
		t.Run(name, func(t *testing.T) {
			tok := sign(t, a, "", h, e.claims(e.tenant))
			e.clock.Advance(time.Minute) // let the unknown kid refresh
			_, err := e.v.Verify(context.Background(), tok)
			if h["kid"] == a.kid {
				wantUnauthorized(t, err, errUnknownKey)
			} else {
				wantUnauthorized(t, err, errSignature)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the attacker's server got %d requests; want 0", n)
	}
}

func TestVerifyRevokedKeyStopsAfterMaxAge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("ES256")
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Revoke: Config Vault stops publishing the key.
	e.src.put(e.tenant, e.keys["RS256"], e.keys["PS256"], e.keys["EdDSA"])
	e.clock.Advance(DefaultMaxAge - time.Second)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("within MaxAge the cached key still verifies: %v", err)
	}
	if n := e.src.count(e.tenant); n != 1 {
		t.Fatalf("%d fetches within MaxAge; want 1", n)
	}
	e.clock.Advance(time.Second)
	_, err := e.v.Verify(ctx, tok)
	wantUnauthorized(t, err, errUnknownKey)
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want a refetch at MaxAge", n)
	}
	// Keys still published keep verifying.
	if _, err := e.v.Verify(ctx, e.token("EdDSA")); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCustomIssuerMapping(t *testing.T) {
	tenant := uuid.Must(uuid.NewV7())
	e := newEnv(t, func(o *Options) {
		o.IssuerPrefix = ""
		o.TenantOfIssuer = func(iss string) (uuid.UUID, bool) {
			if iss == "https://custom.test/t/acme" {
				return tenant, true
			}
			return uuid.Nil, false
		}
		o.IssuerOf = func(uuid.UUID) string { return "https://custom.test/t/acme" }
	})
	k := e.keys["EdDSA"]
	e.src.put(tenant, k)
	claims := with(e.claims(tenant), map[string]any{"iss": "https://custom.test/t/acme"})
	c, err := e.v.Verify(context.Background(), sign(t, k, "", defaultHeaders(k), claims))
	if err != nil || c.TenantID != tenant {
		t.Fatalf("Verify: %+v, %v", c, err)
	}
	_, err = e.v.Verify(context.Background(), sign(t, k, "", defaultHeaders(k), e.claims(tenant)))
	wantUnauthorized(t, err, errIssuer)
}

func TestNewValidatesOptions(t *testing.T) {
	src := newSource()
	base := Options{Keys: src, Audience: "a", IssuerPrefix: "p/"}
	for name, o := range map[string]Options{
		"no keys":         {Audience: "a", IssuerPrefix: "p/"},
		"no audience":     {Keys: src, IssuerPrefix: "p/"},
		"no issuer":       {Keys: src, Audience: "a"},
		"one issuer func": with2(base, func(o *Options) { o.IssuerOf = func(uuid.UUID) string { return "" } }),
		"huge skew":       with2(base, func(o *Options) { o.Skew = time.Hour }),
		"negative maxage": with2(base, func(o *Options) { o.MaxAge = -time.Second }),
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	v, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	if v.skew != DefaultSkew || v.keys.maxAge != DefaultMaxAge || v.keys.minRefresh != DefaultMinRefreshInterval || v.keys.max != DefaultMaxTenants {
		t.Fatalf("defaults %+v %+v", v, v.keys)
	}
	v, _ = New(with2(base, func(o *Options) { o.Skew = -1 }))
	if v.skew != 0 {
		t.Fatalf("negative skew gives %s", v.skew)
	}
}

func with2(o Options, f func(*Options)) Options { f(&o); return o }

func TestPrincipalHas(t *testing.T) {
	other := uuid.Must(uuid.NewV7())
	p := Principal{
		Scopes:     []string{"users:read"},
		SiteScopes: map[uuid.UUID][]string{testSite: {"content:write"}},
	}
	for _, tc := range []struct {
		perm string
		site *uuid.UUID
		want bool
	}{
		{"users:read", nil, true},
		{"users:read", &testSite, true},
		{"content:write", &testSite, true},
		{"content:write", nil, false},
		{"content:write", &other, false},
		{"users:write", &testSite, false},
		{"", nil, false},
	} {
		if got := p.Has(tc.perm, tc.site); got != tc.want {
			t.Errorf("Has(%q, %v) = %v", tc.perm, tc.site, got)
		}
	}
	if (Principal{}).Has("x", &testSite) {
		t.Fatal("the zero principal has a permission")
	}
}
