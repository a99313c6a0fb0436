package app_test

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/authn"
)

// The security review's exploit: a process running every service but iam —
// think of a compromised content pod, which must reach Config Vault — makes
// iam's service credential and has Config Vault sign a platform
// administrator's token. With a private key per service it cannot: the
// process holds iam's public key only. Nor does a credential signed with its
// own keys under iam's name pass, nor one of its own services carry
// tokens:sign, nor iam's genuine credential made for another service. The
// genuine credential, minted where iam's private key lives, still is
// accepted, so the refusals are not an outage.
func TestNoOtherServiceObtainsIAMsSignature(t *testing.T) {
	deployment := authn.GenerateServiceKeys() // as 'saas gen-service-keys' makes them
	withoutIAM, err := app.Select("config-vault,uam,content")
	if err != nil {
		t.Fatal(err)
	}
	p := apptest.StartWith(t, apptest.Options{
		Services: withoutIAM,
		Configure: func(c *app.Config) {
			c.ServiceKeys = authn.ServiceKeys{
				Private: map[string]ed25519.PrivateKey{"uam": deployment.Private["uam"], "content": deployment.Private["content"]},
				Public:  map[string][]ed25519.PublicKey{"iam": deployment.Public["iam"]},
			}
		},
	})
	platform := p.PlatformTenantID.String()
	signURL := p.URL + "/config-vault/v1/internal/tenants/" + platform + "/tokens"
	now := time.Now().Unix()
	body := string(mustJSON(t, map[string]any{"claims": map[string]any{
		"iss": p.URL + "/iam/v1/tenants/" + platform, "aud": p.URL, "sub": "attacker", "sub_type": "user",
		"scope": "tenants:read tenants:write users:read users:write", "iat": now, "nbf": now, "exp": now + 600,
		"jti": "forged"}}))

	// The process has no way to make iam's credential.
	if _, _, err := p.ServiceCredentials().Mint("iam", "config-vault"); !errors.Is(err, authn.ErrNoServiceKey) {
		t.Fatalf("the process minted iam's credential: %v", err)
	}

	// iam's process, elsewhere, holds iam's private key alone.
	iam, err := authn.NewServiceCredentials(p.PlatformTenantID, authn.ServiceKeys{
		Private: map[string]ed25519.PrivateKey{"iam": deployment.Private["iam"]}})
	if err != nil {
		t.Fatal(err)
	}
	// What this process could make: iam's name over its own keys.
	forger := func(key ed25519.PrivateKey) string {
		f, err := authn.NewServiceCredentials(p.PlatformTenantID, authn.ServiceKeys{
			Private: map[string]ed25519.PrivateKey{"iam": key}})
		if err != nil {
			t.Fatal(err)
		}
		return mint(t, f, "iam", "config-vault")
	}
	for name, tc := range map[string]struct {
		credential string
		want       int
	}{
		"iam's name signed with content's key":       {forger(deployment.Private["content"]), http.StatusUnauthorized},
		"iam's name signed with uam's key":           {forger(deployment.Private["uam"]), http.StatusUnauthorized},
		"content's own credential":                   {mint(t, p.ServiceCredentials(), "content", "config-vault"), http.StatusForbidden},
		"uam's own credential":                       {mint(t, p.ServiceCredentials(), "uam", "config-vault"), http.StatusForbidden},
		"iam's genuine credential made for uam":      {mint(t, iam, "iam", "uam"), http.StatusUnauthorized},
		"iam's genuine credential, to show it works": {mint(t, iam, "iam", "config-vault"), http.StatusOK},
		"content's credential renamed to iam":        {strings.Replace(mint(t, p.ServiceCredentials(), "content", "config-vault"), "svc2.content.", "svc2.iam.", 1), http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("POST", signURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tc.credential)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode != tc.want && !(tc.want == http.StatusForbidden && resp.StatusCode == http.StatusNotFound):
			t.Errorf("%s: signing answered %d, want %d", name, resp.StatusCode, tc.want)
		case tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"`:
			t.Errorf("%s: challenge %q, want invalid_token", name, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// In one process with every service, each API accepts only the credentials
// made for it by the services that call it: content does not call uam, so
// its credential is refused there, and a credential for config-vault does
// not open uam.
func TestServiceCredentialsAreBoundToTheirCallee(t *testing.T) {
	p := apptest.Start(t)
	check := func(credential string) int {
		req, _ := http.NewRequest("POST", p.URL+"/uam/v1/internal/credential-checks", strings.NewReader(
			`{"tenant_id": "`+p.PlatformTenantID.String()+`", "email": "`+p.AdminEmail+`", "password": "`+p.AdminPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+credential)
		code, _ := do(t, req)
		return code
	}
	creds := p.ServiceCredentials()
	for name, tc := range map[string]struct {
		credential string
		want       int
	}{
		"iam's credential for uam":          {mint(t, creds, "iam", "uam"), http.StatusOK},
		"iam's credential for config-vault": {mint(t, creds, "iam", "config-vault"), http.StatusUnauthorized},
		"content's credential for uam":      {mint(t, creds, "content", "uam"), http.StatusUnauthorized},
	} {
		if got := check(tc.credential); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
}

func mint(t *testing.T, s *authn.ServiceCredentials, caller, audience string) string {
	t.Helper()
	token, _, err := s.Mint(caller, audience)
	if err != nil {
		t.Fatal(err)
	}
	return token
}
