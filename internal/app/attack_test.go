package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/saasplatform/saas/internal/app/apptest"
)

// Forged and altered tokens against a running platform: each is refused
// with 401 and the invalid_token challenge by every service, while the
// genuine token they are made from is accepted. The verifier's unit tests
// cover each check in depth; this proves the services use it.
func TestForgedTokensAreRefusedEverywhere(t *testing.T) {
	p := apptest.Start(t)
	genuine := p.AdminToken(t)
	parts := strings.Split(genuine, ".")
	var header, claims map[string]any
	decode(t, parts[0], &header)
	decode(t, parts[1], &claims)

	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK, err := jwk.FromRaw(attacker.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwksURL := p.URL + "/iam/v1/tenants/" + claims["tenant_id"].(string) + "/jwks.json"
	now := time.Now().Unix()

	attacks := map[string]string{
		"alg none": compact(t, with(header, "alg", "none"), claims, ""),
		"HS256 keyed with the public key set": func() string {
			h := compact(t, with(header, "alg", "HS256"), claims, "")
			mac := hmac.New(sha256.New, []byte(get(t, jwksURL)))
			mac.Write([]byte(strings.TrimSuffix(h, ".")))
			return h + b64(mac.Sum(nil))
		}(),
		"tampered payload (more scopes)":           parts[0] + "." + b64(mustJSON(t, with(claims, "scope", claims["scope"].(string)+" tokens:sign"))) + "." + parts[2],
		"signed by another key under the real kid": sign(t, attacker, header, claims),
		"jku pointing at the attacker's key":       sign(t, attacker, with(with(header, "jku", p.URL+"/attacker/jwks.json"), "kid", "attacker"), claims),
		"embedded jwk of the attacker":             sign(t, attacker, with(with(header, "jwk", attackerJWK), "kid", "attacker"), claims),
		"unknown kid":                              sign(t, attacker, with(header, "kid", "no-such-key"), claims),
		"expired":                                  resign(t, p, with(with(claims, "exp", now-1), "iat", now-600)),
		"not yet valid":                            resign(t, p, with(claims, "nbf", now+600)),
		"wrong audience":                           resign(t, p, with(claims, "aud", "https://elsewhere.example")),
		"wrong issuer":                             resign(t, p, with(claims, "iss", "https://evil.example/iam/v1/tenants/"+claims["tenant_id"].(string))),
		"not an access token (typ JWT)":            compactSigned(t, p, with(header, "typ", "JWT"), claims),
	}
	targets := []string{"/config-vault/v1/tenants", "/uam/v1/permissions", "/iam/v1/userinfo"}
	for _, target := range targets {
		if code, body := bearer(t, p.URL+target, genuine); code != http.StatusOK {
			t.Fatalf("the genuine token on %s: %d %s", target, code, body)
		}
	}
	for name, token := range attacks {
		for _, target := range targets {
			req, _ := http.NewRequest("GET", p.URL+target, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("%s on %s: %d %q, want 401 invalid_token", name, target, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

// resign has Config Vault sign claims with the tenant's real key, as only
// IAM may: the platform's own signature on claims that must still fail.
func resign(t *testing.T, p *apptest.Platform, claims map[string]any) string {
	t.Helper()
	return compactSigned(t, p, nil, claims)
}

// compactSigned signs claims through Config Vault's internal signing
// operation with IAM's service credential; a non-nil header replaces the
// typ the signature gets.
func compactSigned(t *testing.T, p *apptest.Platform, header map[string]any, claims map[string]any) string {
	t.Helper()
	body := map[string]any{"claims": claims}
	if header != nil {
		body["typ"] = header["typ"]
	}
	req, _ := http.NewRequest("POST", p.URL+"/config-vault/v1/internal/tenants/"+claims["tenant_id"].(string)+"/tokens",
		strings.NewReader(string(mustJSON(t, body))))
	req.Header.Set("Content-Type", "application/json")
	credential, _, err := p.ServiceCredentials().Mint("iam", "config-vault")
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+credential)
	code, out := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("signing: %d %s", code, out)
	}
	var signed struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &signed); err != nil || signed.Token == "" {
		t.Fatalf("signing: %s", out)
	}
	return signed.Token
}

func sign(t *testing.T, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	hdr := jws.NewHeaders()
	for k, v := range header {
		if k == "alg" {
			continue
		}
		if err := hdr.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(mustJSON(t, claims), jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func compact(t *testing.T, header, claims map[string]any, sig string) string {
	return b64(mustJSON(t, header)) + "." + b64(mustJSON(t, claims)) + "." + sig
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

func decode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil || json.Unmarshal(b, v) != nil {
		t.Fatalf("undecodable token part %q", part)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func get(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	code, body := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return body
}

func bearer(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, req)
}
