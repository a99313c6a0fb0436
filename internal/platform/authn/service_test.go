package authn

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

var platformTenant = uuid.MustParse("00000000-0000-7000-8000-000000000001")

func newCredentials(t *testing.T, keys ...[]byte) *ServiceCredentials {
	t.Helper()
	s, err := NewServiceCredentials(platformTenant, keys...)
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

func TestServiceCredentialAuthenticatesItsService(t *testing.T) {
	s := newCredentials(t, bytes.Repeat([]byte{1}, 32))
	jwt := &refuseJWT{}
	v := s.AcceptingServices(jwt)
	token, _ := s.Mint("iam")
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Principal()
	if p.TenantID != platformTenant || p.Subject != "service:iam" || p.Service != "iam" || p.UserID != nil {
		t.Fatalf("principal %+v", p)
	}
	if !slices.Equal(p.Scopes, ServiceGrants["iam"]) || !p.Has("tokens:sign", nil) || p.Has("users:write", nil) {
		t.Fatalf("scopes %v", p.Scopes)
	}
	if jwt.calls != 0 {
		t.Fatal("a service credential reached the JWT verifier")
	}
	if _, err := v.Verify(context.Background(), "eyJ.a.b"); err == nil || jwt.calls != 1 {
		t.Fatal("other tokens must go to the JWT verifier")
	}
}

func TestServiceCredentialsThatMustFail(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	s := newCredentials(t, key)
	valid, _ := s.Mint("uam")
	i := strings.LastIndexByte(valid, '.')
	other := newCredentials(t, bytes.Repeat([]byte{2}, 32))
	foreign, _ := other.Mint("uam")
	expired := newCredentials(t, key)
	expired.now = func() time.Time { return time.Now().Add(-ServiceCredentialLifetime - time.Second) }
	old, _ := expired.Mint("uam")
	unknown := newCredentials(t, key)
	made, _ := unknown.Mint("billing")

	for name, token := range map[string]string{
		"another key":                  foreign,
		"expired":                      old,
		"unknown service":              made,
		"service renamed":              strings.Replace(valid, "svc1.uam.", "svc1.iam.", 1),
		"expiry moved":                 valid[:i-1] + "9" + valid[i:],
		"MAC cut":                      valid[:len(valid)-2],
		"no MAC":                       valid[:i],
		"prefix only":                  "svc1.",
		"MAC of the body under no key": valid[:i] + ".AAAA",
		"service with a dot in it":     "svc1.iam.x.123." + valid[i+1:],
	} {
		_, err := s.AcceptingServices(&refuseJWT{}).Verify(context.Background(), token)
		if !problem.Is(err, problem.KindUnauthorized) || !errors.Is(err, errServiceCredential) {
			t.Errorf("%s: %v, want an invalid service credential", name, err)
		}
	}
}

// During a master key rotation, processes on the new key accept the
// credentials of those still on the previous one, and the other way round.
func TestServiceCredentialsAcrossAMasterKeyRotation(t *testing.T) {
	previous, current := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	oldProcess := newCredentials(t, previous)
	newProcess := newCredentials(t, current, previous)
	fromOld, _ := oldProcess.Mint("iam")
	if _, err := newProcess.verify(fromOld); err != nil {
		t.Fatalf("the new process refuses the old one: %v", err)
	}
	fromNew, _ := newProcess.Mint("iam")
	if _, err := newCredentials(t, current).verify(fromNew); err != nil {
		t.Fatalf("a process on the new key refuses another: %v", err)
	}
}

// Only a service's principal holds a service-only permission, whatever a
// token claims.
func TestServiceOnlyPermissionsNeedAService(t *testing.T) {
	user := Principal{TenantID: platformTenant, Scopes: []string{"tokens:sign", "credentials:verify", "users:read"}}
	for _, perm := range ServiceOnlyPermissions {
		if user.Has(perm, nil) {
			t.Errorf("a user's token grants %s", perm)
		}
	}
	if !user.Has("users:read", nil) {
		t.Error("ordinary permissions must still count")
	}
}

func TestServiceTransportRenewsItsCredential(t *testing.T) {
	s := newCredentials(t, bytes.Repeat([]byte{1}, 32))
	now := time.Now()
	s.now = func() time.Time { return now }
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	c := &http.Client{Transport: s.Transport("uam", nil)}
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
	if len(seen) != 3 || seen[0] != seen[1] || seen[1] == seen[2] || !strings.HasPrefix(seen[0], "Bearer svc1.uam.") {
		t.Fatalf("credentials sent: %q", seen)
	}
	if _, err := s.verify(strings.TrimPrefix(seen[2], "Bearer ")); err != nil {
		t.Fatalf("the renewed credential: %v", err)
	}
}
