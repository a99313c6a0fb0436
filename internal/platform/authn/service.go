package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Services call each other's internal operations (IAM asks UAM to check a
// password and Config Vault to sign a token) and read across tenants (UAM
// and content ask Config Vault whether a tenant or site exists). They do so
// with a service credential: not a JWT signed by a tenant key, which would
// need IAM to exist first, but a short-lived token signed with the calling
// service's own Ed25519 private key. Only the processes running that service
// hold its private key; the services it calls hold the public key alone, so
// no other service can make its credential. A credential names the service
// it is for (its audience) and is refused by every other. It authenticates as
// a principal of the platform tenant named "service:<name>" holding exactly
// the permissions ServiceGrants lists for that service. Authorization counts
// every service as a platform administrator (it acts across tenants with
// those permissions), which is why only a verified service credential
// yields a Principal with Service set.
//
// Form:
//
//	svc2.<caller>.<audience>.<expiry>.<signature>
//
// caller and audience are service names ([a-z][a-z0-9-]*, at most 32
// bytes), expiry is Unix seconds in decimal without leading zeros, and
// signature is the unpadded base64url Ed25519 signature (64 bytes, 86
// characters) of everything before the last dot, prefix included. The
// prefix tells it from an access token (a JWT, "eyJ...") and a refresh token
// (base64url, no dot) at a glance. It never travels beyond the services'
// network.

// serviceGrants are the permissions each calling service's credential
// carries; its keys are the service identities, the services that call
// others with a credential of their own.
var serviceGrants = map[string][]string{
	"iam":     {"credentials:verify", "tokens:sign", "users:read", "tenants:read"},
	"uam":     {"tenants:read", "sites:read"},
	"content": {"tenants:read", "sites:read"},
}

// serviceOnlyPermissions are held by service credentials alone.
var serviceOnlyPermissions = []string{"credentials:verify", "tokens:sign"}

// ServiceGrants returns the permissions the credential of service carries
// (a copy), and whether service is a service identity at all.
func ServiceGrants(service string) ([]string, bool) {
	g, ok := serviceGrants[service]
	return slices.Clone(g), ok
}

// ServiceIdentities lists the services that call others with a credential of
// their own, sorted: those that have a key pair.
func ServiceIdentities() []string { return slices.Sorted(maps.Keys(serviceGrants)) }

// ServiceOnlyPermissions are held by service credentials alone: IAM never
// puts them into an access token, whatever roles say, and the authorization
// middleware refuses them to any other principal. The result is a copy.
func ServiceOnlyPermissions() []string { return slices.Clone(serviceOnlyPermissions) }

// IsServiceOnly reports whether permission is one of ServiceOnlyPermissions.
func IsServiceOnly(permission string) bool {
	return slices.Contains(serviceOnlyPermissions, permission)
}

const (
	servicePrefix = "svc2."
	// ServiceCredentialLifetime is how long a minted credential is valid;
	// clients renew it well before. A credential whose expiry lies further
	// ahead (beyond ServiceCredentialSkew) is refused.
	ServiceCredentialLifetime = 5 * time.Minute
	// ServiceCredentialSkew is how far the clocks of two services may
	// differ: a credential is accepted that long past its expiry.
	ServiceCredentialSkew = 30 * time.Second
	// SubTypeService is the SubjectType of a service credential's claims.
	SubTypeService = "service"

	maxServiceName       = 32
	maxServiceCredential = 256
	serviceSeedSize      = ed25519.SeedSize
)

var (
	errServiceCredential = errors.New("service credential invalid")
	// ErrNoServiceKey: the process holds no private key of the service it
	// would make a credential for.
	ErrNoServiceKey = errors.New("authn: no private key of this service in this process")
)

// validServiceName: [a-z][a-z0-9-]*, at most maxServiceName bytes.
func validServiceName(s string) bool {
	if s == "" || len(s) > maxServiceName || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ServiceKeys are the service keys of one process: the private keys of the
// services it runs that call others (SAAS_SERVICE_KEYS) and the public keys
// of the callers its services accept (SAAS_SERVICE_PUBLIC_KEYS). A caller
// may have several public keys, each accepted: while its key is replaced,
// the callees know the old and the new one.
type ServiceKeys struct {
	Private map[string]ed25519.PrivateKey
	Public  map[string][]ed25519.PublicKey
}

// IsZero reports whether k holds no key at all.
func (k ServiceKeys) IsZero() bool { return len(k.Private) == 0 && len(k.Public) == 0 }

// GenerateServiceKeys returns a fresh key pair for every service identity.
func GenerateServiceKeys() ServiceKeys {
	k := ServiceKeys{Private: map[string]ed25519.PrivateKey{}, Public: map[string][]ed25519.PublicKey{}}
	for _, name := range ServiceIdentities() {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		k.Private[name], k.Public[name] = priv, []ed25519.PublicKey{pub}
	}
	return k
}

// ParseServicePrivateKeys reads SAAS_SERVICE_KEYS' form: comma-separated
// name=<base64 of the 32-byte Ed25519 seed>. Errors never quote a key.
func ParseServicePrivateKeys(s string) (map[string]ed25519.PrivateKey, error) {
	out := map[string]ed25519.PrivateKey{}
	err := parseKeyList(s, func(name string, b []byte) error {
		if out[name] != nil {
			return fmt.Errorf("%s is listed twice", name)
		}
		if len(b) != serviceSeedSize {
			return fmt.Errorf("the key of %s is not base64 of a %d-byte Ed25519 seed", name, serviceSeedSize)
		}
		out[name] = ed25519.NewKeyFromSeed(b)
		return nil
	})
	return out, err
}

// ParseServicePublicKeys reads SAAS_SERVICE_PUBLIC_KEYS' form:
// comma-separated name=<base64 of the 32-byte Ed25519 public key>. A name
// may come more than once, with different keys (a key being replaced).
func ParseServicePublicKeys(s string) (map[string][]ed25519.PublicKey, error) {
	out := map[string][]ed25519.PublicKey{}
	err := parseKeyList(s, func(name string, b []byte) error {
		if len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("the key of %s is not base64 of a %d-byte Ed25519 public key", name, ed25519.PublicKeySize)
		}
		if slices.ContainsFunc(out[name], func(k ed25519.PublicKey) bool { return k.Equal(ed25519.PublicKey(b)) }) {
			return fmt.Errorf("the same key of %s is listed twice", name)
		}
		out[name] = append(out[name], ed25519.PublicKey(b))
		return nil
	})
	return out, err
}

func parseKeyList(s string, add func(name string, key []byte) error) error {
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || name == "" || value == "":
			return fmt.Errorf("entry %d is not name=<base64 key>", i+1)
		case !validServiceName(name):
			return fmt.Errorf("entry %d: %s is not a service name", i+1, short(name))
		case serviceGrants[name] == nil:
			return fmt.Errorf("entry %d: %s is not a service that calls others (known: %s)", i+1, short(name), strings.Join(ServiceIdentities(), ", "))
		}
		b, err := decodeKey(value)
		if err != nil {
			return fmt.Errorf("the key of %s is not base64", name)
		}
		if err := add(name, b); err != nil {
			return err
		}
	}
	return nil
}

// decodeKey accepts standard and URL-safe base64, with or without padding.
func decodeKey(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.Strict().DecodeString(s)
}

// FormatServicePrivateKeys writes keys in SAAS_SERVICE_KEYS' form, sorted.
func FormatServicePrivateKeys(keys map[string]ed25519.PrivateKey) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		parts = append(parts, name+"="+base64.StdEncoding.EncodeToString(keys[name].Seed()))
	}
	return strings.Join(parts, ",")
}

// FormatServicePublicKeys writes keys in SAAS_SERVICE_PUBLIC_KEYS' form,
// sorted by name.
func FormatServicePublicKeys(keys map[string][]ed25519.PublicKey) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		for _, k := range keys[name] {
			parts = append(parts, name+"="+base64.StdEncoding.EncodeToString(k))
		}
	}
	return strings.Join(parts, ",")
}

// ServiceCredentials mints the credentials of the services whose private
// keys it holds and verifies those of the callers whose public keys it has.
type ServiceCredentials struct {
	platform uuid.UUID
	private  map[string]ed25519.PrivateKey
	public   map[string][]ed25519.PublicKey
	now      func() time.Time
	signed   *signedCredentials
}

// signedCredentials remembers the credentials whose signature verified, until
// their expiry: a caller sends the same credential for minutes (it renews it
// a minute before expiry), and the public keys never change while the
// process runs, so its signature needs checking once. Everything else about
// a credential (caller, audience, expiry) is still checked at every request.
// Only credentials with a good signature get in, a few per caller and
// audience at a time; maxSignedCredentials bounds them all the same.
type signedCredentials struct {
	mu  sync.Mutex
	exp map[string]time.Time // credential → its expiry
}

const maxSignedCredentials = 1024

func (c *signedCredentials) has(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.exp[token]
	return ok
}

func (c *signedCredentials) add(token string, exp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.exp) >= maxSignedCredentials {
		maps.DeleteFunc(c.exp, func(_ string, e time.Time) bool { return !now.Before(e.Add(ServiceCredentialSkew)) })
		if len(c.exp) >= maxSignedCredentials {
			clear(c.exp)
		}
	}
	c.exp[token] = exp
}

// NewServiceCredentials checks keys: every name a service identity, every
// key of the right size, and when public keys are listed beside a private
// key of the same service, its very public key among them. The public key of
// each private key is known without being listed: a process that can make a
// credential may as well accept it. platform is the principals' tenant.
func NewServiceCredentials(platform uuid.UUID, keys ServiceKeys) (*ServiceCredentials, error) {
	if platform == uuid.Nil {
		return nil, errors.New("authn: service credentials need the platform tenant")
	}
	s := &ServiceCredentials{platform: platform, now: time.Now,
		private: map[string]ed25519.PrivateKey{}, public: map[string][]ed25519.PublicKey{},
		signed: &signedCredentials{exp: map[string]time.Time{}}}
	for name, pubs := range keys.Public {
		if serviceGrants[name] == nil {
			return nil, fmt.Errorf("authn: a public key of %s, which is no service identity", short(name))
		}
		for _, pub := range pubs {
			if len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("authn: a public key of %s has %d bytes, want %d", name, len(pub), ed25519.PublicKeySize)
			}
			s.public[name] = append(s.public[name], slices.Clone(pub))
		}
	}
	for name, priv := range keys.Private {
		if serviceGrants[name] == nil {
			return nil, fmt.Errorf("authn: a private key of %s, which is no service identity", short(name))
		}
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("authn: the private key of %s has %d bytes, want %d", name, len(priv), ed25519.PrivateKeySize)
		}
		// Recomputed from the seed: the public half of a private key is
		// only as trustworthy as whoever assembled it.
		priv = ed25519.NewKeyFromSeed(priv.Seed())
		pub := priv.Public().(ed25519.PublicKey)
		listed := s.public[name]
		if len(listed) > 0 && !slices.ContainsFunc(listed, func(k ed25519.PublicKey) bool { return k.Equal(pub) }) {
			return nil, fmt.Errorf("authn: no public key of %s listed belongs to its private key", name)
		}
		s.private[name] = priv
		if len(listed) == 0 {
			s.public[name] = []ed25519.PublicKey{pub}
		}
	}
	return s, nil
}

// CanMint reports whether the process holds the private key of service.
func (s *ServiceCredentials) CanMint(service string) bool { return s.private[service] != nil }

// Accepts reports whether the process holds the public key of service.
func (s *ServiceCredentials) Accepts(service string) bool { return len(s.public[service]) > 0 }

// Mint returns a credential of caller for the service audience, valid for
// ServiceCredentialLifetime; ErrNoServiceKey when the process does not hold
// caller's private key.
func (s *ServiceCredentials) Mint(caller, audience string) (string, time.Time, error) {
	key := s.private[caller]
	if key == nil {
		return "", time.Time{}, fmt.Errorf("%w: %s", ErrNoServiceKey, short(caller))
	}
	if !validServiceName(audience) {
		return "", time.Time{}, fmt.Errorf("authn: %s is not a service name", short(audience))
	}
	exp := s.now().Add(ServiceCredentialLifetime).Truncate(time.Second)
	body := servicePrefix + caller + "." + audience + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(body))), exp, nil
}

// IsServiceCredential reports whether token has the form of a service
// credential (it is not checked).
func IsServiceCredential(token string) bool { return strings.HasPrefix(token, servicePrefix) }

// verify checks a service credential for audience from one of callers and
// returns its principal's claims.
func (s *ServiceCredentials) verify(token, audience string, callers []string) (Claims, error) {
	fail := func(format string, args ...any) (Claims, error) {
		return Claims{}, invalidToken(fmt.Errorf("%w: "+format, append([]any{errServiceCredential}, args...)...))
	}
	if len(token) > maxServiceCredential {
		return fail("%d bytes", len(token))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0]+"." != servicePrefix {
		return fail("not svc2.<caller>.<audience>.<expiry>.<signature>")
	}
	caller, aud, expiry, sig64 := parts[1], parts[2], parts[3], parts[4]
	if !validServiceName(caller) || !validServiceName(aud) {
		return fail("malformed service name")
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || unix <= 0 || strconv.FormatInt(unix, 10) != expiry {
		return fail("malformed expiry")
	}
	sig, err := b64.DecodeString(sig64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fail("malformed signature")
	}
	pubs, grants := s.public[caller], serviceGrants[caller]
	if len(pubs) == 0 || grants == nil || !slices.Contains(callers, caller) {
		return fail("%s is not a caller of %s here", short(caller), audience)
	}
	exp, now := time.Unix(unix, 0), s.now()
	if !s.signed.has(token) {
		body := []byte(token[:len(token)-len(sig64)-1])
		if !slices.ContainsFunc(pubs, func(pub ed25519.PublicKey) bool { return ed25519.Verify(pub, body, sig) }) {
			return fail("bad signature for %s", caller)
		}
		s.signed.add(token, exp, now)
	}
	if aud != audience {
		return fail("for %s, not %s", aud, audience)
	}
	if !now.Before(exp.Add(ServiceCredentialSkew)) {
		return Claims{}, invalidToken(fmt.Errorf("%w: %w", errServiceCredential, errExpired))
	}
	if exp.After(now.Add(ServiceCredentialLifetime + ServiceCredentialSkew)) {
		return fail("expiry too far ahead")
	}
	return Claims{
		TenantID:    s.platform,
		Subject:     SubTypeService + ":" + caller,
		SubjectType: SubTypeService,
		Audience:    []string{aud},
		Scopes:      slices.Clone(grants),
		ExpiresAt:   exp,
	}, nil
}

// TokenVerifier verifies a bearer token, as *Verifier does.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Claims, error)
}

// Verifier returns the token verifier of the service audience: it checks
// service credentials itself, accepting those made for audience by one of
// callers (whose public keys the process must hold), and passes every other
// token to next. Each service's API gets its own.
func (s *ServiceCredentials) Verifier(audience string, callers []string, next TokenVerifier) TokenVerifier {
	return serviceOrToken{s, audience, slices.Clone(callers), next}
}

type serviceOrToken struct {
	services *ServiceCredentials
	audience string
	callers  []string
	next     TokenVerifier
}

func (v serviceOrToken) Verify(ctx context.Context, token string) (Claims, error) {
	if IsServiceCredential(token) {
		return v.services.verify(token, v.audience, v.callers)
	}
	return v.next.Verify(ctx, token)
}

// Transport returns a RoundTripper that authenticates every request as
// caller to the service audience, with a credential it renews a minute
// before expiry; ErrNoServiceKey when the process does not hold caller's
// private key.
func (s *ServiceCredentials) Transport(caller, audience string, next http.RoundTripper) (http.RoundTripper, error) {
	if _, _, err := s.Mint(caller, audience); err != nil {
		return nil, err
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &serviceTransport{creds: s, caller: caller, audience: audience, next: next}, nil
}

type serviceTransport struct {
	creds            *ServiceCredentials
	caller, audience string
	next             http.RoundTripper

	mu    sync.Mutex
	token string
	exp   time.Time
}

func (t *serviceTransport) current() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.creds.now().Add(time.Minute).After(t.exp) {
		token, exp, err := t.creds.Mint(t.caller, t.audience)
		if err != nil {
			return "", err
		}
		t.token, t.exp = token, exp
	}
	return t.token, nil
}

func (t *serviceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	token, err := t.current()
	if err != nil {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify the request
	r.Header.Set("Authorization", "Bearer "+token)
	return t.next.RoundTrip(r)
}
