// Package authtest lets a service's tests call its API the way production
// callers do, with access tokens checked by the real verifier and
// authorization middleware, without running the IAM service: an Issuer
// signs tokens with its own ES256 key and serves that key as every tenant's
// key set. Tests of the whole platform log in through IAM instead
// (internal/app/apptest).
package authtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/httpapi"
)

// Audience and IssuerPrefix are those of the Issuer's tokens.
const Audience = "https://saas.test"

var IssuerPrefix = authn.DefaultIssuerPrefix(Audience)

// PlatformTenantID is the platform tenant the Issuer's authorization uses.
var PlatformTenantID = uuid.MustParse("00000000-0000-7000-8000-0000000000f1")

// Issuer signs access tokens and service credentials for tests.
type Issuer struct {
	key      *ecdsa.PrivateKey
	kid      string
	set      jwk.Set
	jwt      authn.TokenVerifier
	services *authn.ServiceCredentials
}

// New returns an Issuer with a fresh key.
func New(tb testing.TB) *Issuer {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(tb, err)
	pub, err := jwk.FromRaw(priv.Public())
	must(tb, err)
	tp, err := pub.Thumbprint(crypto.SHA256)
	must(tb, err)
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: "ES256", jwk.KeyUsageKey: "sig"} {
		must(tb, pub.Set(k, v))
	}
	set := jwk.NewSet()
	must(tb, set.AddKey(pub))
	v, err := authn.New(authn.Options{
		Keys:         authn.KeySourceFunc(func(context.Context, uuid.UUID) (jwk.Set, error) { return set, nil }),
		Audience:     Audience,
		IssuerPrefix: IssuerPrefix,
	})
	must(tb, err)
	// Every service identity's key pair: the Issuer plays every caller.
	services, err := authn.NewServiceCredentials(PlatformTenantID, authn.GenerateServiceKeys())
	must(tb, err)
	return &Issuer{key: priv, kid: kid, set: set, jwt: v, services: services}
}

// Protect returns api with authentication and authorization on, as the
// platform mounts it: access tokens of the Issuer, and the credentials of
// every service identity made for this API (its audience is api.Name).
func (is *Issuer) Protect(tb testing.TB, api httpapi.API) httpapi.API {
	tb.Helper()
	if api.Name == "" {
		tb.Fatal("authtest: the API has no name, which service credentials are made for")
	}
	a, err := authz.New(api.Spec, authz.Options{
		Verifier:         is.services.Verifier(api.Name, authn.ServiceIdentities(), is.jwt),
		PlatformTenantID: PlatformTenantID,
	})
	must(tb, err)
	api.Authorize = a.Authorize
	return api
}

// Services mints service credentials accepted by Protect-ed APIs: it holds
// the private key of every service identity.
func (is *Issuer) Services() *authn.ServiceCredentials { return is.services }

// Credential is a credential of service caller for the service audience
// ("config-vault", "uam", ...), as caller's process would send it.
func (is *Issuer) Credential(tb testing.TB, caller, audience string) string {
	tb.Helper()
	token, _, err := is.services.Mint(caller, audience)
	must(tb, err)
	return token
}

// Transport authenticates every request through next (nil: the default) as
// service caller calling the service audience.
func (is *Issuer) Transport(tb testing.TB, caller, audience string, next http.RoundTripper) http.RoundTripper {
	tb.Helper()
	rt, err := is.services.Transport(caller, audience, next)
	must(tb, err)
	return rt
}

// Grant describes a token to sign.
type Grant struct {
	Tenant uuid.UUID
	// User is the subject; uuid.Nil means a fresh id. Client, when set,
	// makes it a machine client's token instead.
	User   uuid.UUID
	Client string
	// Scopes are tenant-wide permissions, Sites those granted on one site.
	Scopes []string
	Sites  map[uuid.UUID][]string
}

// Token signs g as an access token valid for ten minutes.
func (is *Issuer) Token(tb testing.TB, g Grant) string {
	tb.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss":       IssuerPrefix + g.Tenant.String(),
		"tenant_id": g.Tenant.String(),
		"aud":       Audience,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(10 * time.Minute).Unix(),
		"jti":       uuid.NewString(),
		"scope":     strings.Join(g.Scopes, " "),
	}
	if g.Client != "" {
		claims["sub"], claims["sub_type"], claims["client_id"] = g.Client, authn.SubTypeClient, g.Client
	} else {
		user := g.User
		if user == uuid.Nil {
			user = uuid.New()
		}
		claims["sub"], claims["sub_type"] = user.String(), authn.SubTypeUser
	}
	if len(g.Sites) > 0 {
		sites := map[string]string{}
		for id, perms := range g.Sites {
			sites[id.String()] = strings.Join(perms, " ")
		}
		claims["site_scope"] = sites
	}
	payload, err := json.Marshal(claims)
	must(tb, err)
	hdr := jws.NewHeaders()
	must(tb, hdr.Set(jws.KeyIDKey, is.kid))
	must(tb, hdr.Set(jws.TypeKey, authn.TokenType))
	signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, is.key, jws.WithProtectedHeaders(hdr)))
	must(tb, err)
	return string(signed)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
