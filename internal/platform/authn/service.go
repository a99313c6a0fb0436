package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
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
// need IAM to exist first, but a short-lived token MACed with a key that
// every service derives from the shared master key. It authenticates as a
// principal of the platform tenant named "service:<name>" holding exactly
// the permissions ServiceGrants lists for that service, so the ordinary
// authorization rules (platform administrators act across tenants) apply to
// it unchanged.
//
// Form: "svc1.<service>.<expiry, unix seconds>.<base64url HMAC-SHA256 of
// the part before it>". It never travels beyond the services' network.

// ServiceGrants are the permissions each service's credential carries.
var ServiceGrants = map[string][]string{
	"iam":     {"credentials:verify", "tokens:sign", "users:read", "tenants:read"},
	"uam":     {"tenants:read", "sites:read"},
	"content": {"tenants:read", "sites:read"},
}

// ServiceOnlyPermissions are held by service credentials alone: IAM never
// puts them into an access token, whatever roles say, and the authorization
// middleware refuses them to any other principal.
var ServiceOnlyPermissions = []string{"credentials:verify", "tokens:sign"}

// IsServiceOnly reports whether permission is one of ServiceOnlyPermissions.
func IsServiceOnly(permission string) bool {
	return slices.Contains(ServiceOnlyPermissions, permission)
}

const (
	servicePrefix = "svc1."
	// ServiceCredentialLifetime is how long a minted credential is valid;
	// clients renew it well before.
	ServiceCredentialLifetime = 5 * time.Minute
	// SubTypeService is the SubjectType of a service credential's claims.
	SubTypeService = "service"
)

var errServiceCredential = errors.New("service credential invalid")

// ServiceCredentials mints and checks service credentials.
type ServiceCredentials struct {
	keys     [][]byte // minting with the first, accepting each
	platform uuid.UUID
	now      func() time.Time
}

// NewServiceCredentials mints with keys[0] and accepts credentials MACed
// with any of keys (32 bytes each, derived from the master keys: the same in
// every process, and during a master key rotation the previous ones too).
// platform is the principals' tenant.
func NewServiceCredentials(platform uuid.UUID, keys ...[]byte) (*ServiceCredentials, error) {
	if len(keys) == 0 {
		return nil, errors.New("authn: service credentials need a key")
	}
	for _, k := range keys {
		if len(k) < 32 {
			return nil, errors.New("authn: a service credential key needs 32 bytes")
		}
	}
	if platform == uuid.Nil {
		return nil, errors.New("authn: service credentials need the platform tenant")
	}
	return &ServiceCredentials{keys: keys, platform: platform, now: time.Now}, nil
}

// Mint returns a credential for service, valid for ServiceCredentialLifetime.
func (s *ServiceCredentials) Mint(service string) (string, time.Time) {
	exp := s.now().Add(ServiceCredentialLifetime).Truncate(time.Second)
	body := servicePrefix + service + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + mac(s.keys[0], body), exp
}

func mac(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authentic reports whether sig is body's MAC under one of the keys.
func (s *ServiceCredentials) authentic(body, sig string) bool {
	for _, k := range s.keys {
		if hmac.Equal([]byte(sig), []byte(mac(k, body))) {
			return true
		}
	}
	return false
}

// IsServiceCredential reports whether token has the form of a service
// credential (it is not checked).
func IsServiceCredential(token string) bool { return strings.HasPrefix(token, servicePrefix) }

// verify checks a service credential and returns its principal's claims.
func (s *ServiceCredentials) verify(token string) (Claims, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !s.authentic(token[:i], token[i+1:]) {
		return Claims{}, invalidToken(fmt.Errorf("%w: bad MAC", errServiceCredential))
	}
	service, expiry, _ := strings.Cut(strings.TrimPrefix(token[:i], servicePrefix), ".")
	grants, known := ServiceGrants[service]
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if !known || err != nil {
		return Claims{}, invalidToken(fmt.Errorf("%w: unknown service %s", errServiceCredential, short(service)))
	}
	exp := time.Unix(unix, 0)
	if !s.now().Before(exp) {
		return Claims{}, invalidToken(fmt.Errorf("%w: %w", errServiceCredential, errExpired))
	}
	return Claims{
		TenantID:    s.platform,
		Subject:     SubTypeService + ":" + service,
		SubjectType: SubTypeService,
		Scopes:      slices.Clone(grants),
		ExpiresAt:   exp,
	}, nil
}

// TokenVerifier verifies a bearer token, as *Verifier does.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Claims, error)
}

// AcceptingServices returns a verifier that checks service credentials
// itself and passes every other token to next.
func (s *ServiceCredentials) AcceptingServices(next TokenVerifier) TokenVerifier {
	return serviceOrToken{s, next}
}

type serviceOrToken struct {
	services *ServiceCredentials
	next     TokenVerifier
}

func (v serviceOrToken) Verify(ctx context.Context, token string) (Claims, error) {
	if IsServiceCredential(token) {
		return v.services.verify(token)
	}
	return v.next.Verify(ctx, token)
}

// Transport returns a RoundTripper that authenticates every request as
// service with a credential it renews a minute before expiry.
func (s *ServiceCredentials) Transport(service string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &serviceTransport{creds: s, service: service, next: next}
}

type serviceTransport struct {
	creds   *ServiceCredentials
	service string
	next    http.RoundTripper

	mu    sync.Mutex
	token string
	exp   time.Time
}

func (t *serviceTransport) current() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.creds.now().Add(time.Minute).After(t.exp) {
		t.token, t.exp = t.creds.Mint(t.service)
	}
	return t.token
}

func (t *serviceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not modify the request
	r.Header.Set("Authorization", "Bearer "+t.current())
	return t.next.RoundTrip(r)
}
