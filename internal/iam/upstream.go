package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/svcclient"
)

// The adapters over the two services IAM depends on: UAM knows users,
// Config Vault tenants and keys. They translate the
// generated clients' models into what IAM needs and every unexpected answer
// into an error kind.

// account is what UAM says about a user: who it is and what it may do now.
type account struct {
	UserID        uuid.UUID
	TenantID      uuid.UUID
	Email         string
	EmailVerified bool
	Active        bool
	// SecurityStamp is UAM's security stamp, which changes whenever the
	// user's sessions must end (nil: none recorded).
	SecurityStamp *time.Time
	Roles         []string
	// TenantWide are the permissions held everywhere in the tenant; Sites
	// those a site adds, by site.
	TenantWide []string
	Sites      map[uuid.UUID][]string
}

func accountOf(r uamclient.CredentialCheckResult) account {
	a := account{UserID: r.User.Id, TenantID: r.User.TenantId, Email: r.User.Email, EmailVerified: r.User.EmailVerified,
		Active: r.User.Status == uamclient.Active, SecurityStamp: r.SecurityStamp, Roles: r.Roles,
		TenantWide: r.Permissions.TenantWide, Sites: map[uuid.UUID][]string{}}
	for _, s := range r.Permissions.Sites {
		a.Sites[s.SiteId] = s.Permissions
	}
	return a
}

// profile holds the profile fields userinfo reports; "" is unset.
type profile struct {
	DisplayName, GivenName, FamilyName, AvatarURL, Locale, Timezone, Phone string
}

// users is UAM as IAM uses it, through the client carrying IAM's service
// credential.
type users struct {
	c *uamclient.ClientWithResponses
}

// errBadCredentials is the one answer to every failed sign-in: unknown
// email, wrong password, disabled or locked user, inactive tenant.
var errBadCredentials = problem.New(problem.KindUnauthorized, "the email or password is not correct")

// check verifies a password; errBadCredentials when UAM refuses it.
func (u users) check(ctx context.Context, tenantID uuid.UUID, email, password string) (account, error) {
	r, err := u.c.CheckCredentialsWithResponse(ctx, uamclient.CredentialCheck{TenantId: tenantID, Email: email, Password: password})
	if err != nil {
		return account{}, unavailable(ctx, err)
	}
	switch {
	case r.JSON200 != nil:
		return accountOf(*r.JSON200), nil
	case r.StatusCode() == http.StatusUnauthorized && !refusedCredential(r.HTTPResponse):
		return account{}, errBadCredentials
	case r.StatusCode() == http.StatusBadRequest:
		// What UAM cannot even check cannot be right either.
		return account{}, errBadCredentials
	}
	return account{}, unexpected(ctx, "uam", "checking credentials", r.HTTPResponse)
}

// grant reads what a user may do now; a not-found problem for a user (or
// tenant) that no longer exists.
func (u users) grant(ctx context.Context, tenantID, userID uuid.UUID) (account, error) {
	r, err := u.c.GetUserGrantWithResponse(ctx, tenantID, userID)
	if err != nil {
		return account{}, unavailable(ctx, err)
	}
	switch {
	case r.JSON200 != nil:
		return accountOf(*r.JSON200), nil
	case r.StatusCode() == http.StatusNotFound:
		return account{}, problem.NotFound("user %s not found", userID)
	}
	return account{}, unexpected(ctx, "uam", "reading a user's grant", r.HTTPResponse)
}

// profile reads a user's profile; a not-found problem when the user is gone.
func (u users) profile(ctx context.Context, tenantID, userID uuid.UUID) (profile, error) {
	r, err := u.c.GetUserProfileWithResponse(ctx, tenantID, userID)
	if err != nil {
		return profile{}, unavailable(ctx, err)
	}
	switch {
	case r.JSON200 != nil:
		p := r.JSON200
		return profile{DisplayName: text(p.DisplayName), GivenName: text(p.GivenName), FamilyName: text(p.FamilyName),
			AvatarURL: text(p.AvatarUrl), Locale: text(p.Locale), Timezone: text(p.Timezone), Phone: text(p.Phone)}, nil
	case r.StatusCode() == http.StatusNotFound:
		return profile{}, problem.NotFound("user %s not found", userID)
	}
	return profile{}, unexpected(ctx, "uam", "reading a profile", r.HTTPResponse)
}

func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

// vault is Config Vault as IAM uses it.
type vault struct{ c *cvclient.ClientWithResponses }

// errNoSigningTenant is the answer when Config Vault will not sign for a
// tenant: it does not exist, or is inactive.
var errNoSigningTenant = problem.NotFound("the tenant does not exist or is inactive")

// sign signs claims as an access token (typ at+jwt) with the tenant's key.
// No site_id: site keys are not in the tenant's JWKS, the issuer's key set.
func (v vault) sign(ctx context.Context, tenantID uuid.UUID, claims json.RawMessage) (string, error) {
	typ := cvclient.TokenTypeAtJWT
	r, err := v.c.SignTokenWithResponse(ctx, tenantID, cvclient.TokenSignRequest{Claims: claims, Typ: &typ})
	if err != nil {
		return "", unavailable(ctx, err)
	}
	switch {
	case r.JSON200 != nil:
		return r.JSON200.Token, nil
	case r.StatusCode() == http.StatusNotFound:
		return "", errNoSigningTenant
	}
	return "", unexpected(ctx, "config-vault", "signing a token", r.HTTPResponse)
}

// tenant tells whether a tenant is active; a not-found problem when it does
// not exist.
func (v vault) tenant(ctx context.Context, tenantID uuid.UUID) (active bool, err error) {
	r, err := v.c.GetTenantWithResponse(ctx, tenantID)
	if err != nil {
		return false, unavailable(ctx, err)
	}
	switch {
	case r.JSON200 != nil:
		return r.JSON200.IsActive, nil
	case r.StatusCode() == http.StatusNotFound:
		return false, problem.NotFound("tenant %s not found", tenantID)
	}
	return false, unexpected(ctx, "config-vault", "reading a tenant", r.HTTPResponse)
}

// jwks is the tenant's published key set as Config Vault serves it, with
// Config Vault's Cache-Control.
func (v vault) jwks(ctx context.Context, tenantID uuid.UUID) ([]map[string]any, string, error) {
	r, err := v.c.GetTenantJWKSWithResponse(ctx, tenantID)
	if err != nil {
		return nil, "", unavailable(ctx, err)
	}
	switch {
	case r.StatusCode() == http.StatusOK && r.Headers200 != nil:
		// The raw document, not the client's model: every member of every
		// key passes through, whatever the model knows of.
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(r.Body, &set); err != nil || set.Keys == nil {
			return nil, "", unexpected(ctx, "config-vault", "reading a key set", r.HTTPResponse)
		}
		return set.Keys, r.Headers200.CacheControl, nil
	case r.StatusCode() == http.StatusNotFound:
		return nil, "", problem.NotFound("tenant %s not found", tenantID)
	}
	return nil, "", unexpected(ctx, "config-vault", "reading a key set", r.HTTPResponse)
}

// unavailable is a call that got no answer; a cancelled request stays a
// cancellation.
func unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return svcclient.Unavailable(err)
}

// unexpected turns an answer IAM has no use for into an error. The callee's
// 503 is passed on as 503, with the callee's Retry-After when it names a
// delay in seconds (up to an hour), else svcclient's. Anything else is IAM's
// fault or misconfiguration (its credential refused, a contract broken): a
// 500, logged by status and media type only, since the body may hold a
// credential (a signed token, a user's claims) that logs must not keep.
func unexpected(ctx context.Context, service, doing string, resp *http.Response) error {
	status, contentType := 0, ""
	if resp != nil {
		status, contentType = resp.StatusCode, resp.Header.Get("Content-Type")
	}
	if status == http.StatusServiceUnavailable {
		return &problem.Error{Kind: problem.KindUnavailable, Detail: "a service this request needs is unavailable",
			RetryAfter: retryAfter(resp.Header), Err: fmt.Errorf("%s: %s answered 503", doing, service)}
	}
	slog.ErrorContext(ctx, "unexpected answer", "service", service, "doing", doing, "status", status, "content_type", contentType)
	return fmt.Errorf("iam: %s: %s answered %d", doing, service, status)
}

// retryAfter is a callee's Retry-After in seconds, from 1 s to an hour;
// svcclient.RetryAfter for a missing, past or far one, or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 3600 {
		return svcclient.RetryAfter
	}
	return time.Duration(secs) * time.Second
}

// refusedCredential tells UAM refusing IAM's own credential (a challenge,
// from the authorization middleware) from UAM refusing the user's password
// (a bare 401): the first is IAM's misconfiguration, not a failed sign-in,
// and must not throttle users who typed their password right.
func refusedCredential(resp *http.Response) bool {
	return resp != nil && resp.Header.Get("WWW-Authenticate") != ""
}
