package iam

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	db "github.com/saasplatform/saas/gen/db/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Client is a machine client of a tenant: it signs in with the OAuth 2.0
// client-credentials grant, for at most its Scopes.
type Client struct {
	ID              uuid.UUID
	TenantID        uuid.UUID
	Name            string
	Scopes          []string
	IsActive        bool
	Version         int64
	SecretRotatedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func clientOf(r db.IamClient) Client {
	scopes := r.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return Client{ID: r.ID, TenantID: r.TenantID, Name: r.Name, Scopes: scopes, IsActive: r.IsActive, Version: r.Version,
		SecretRotatedAt: r.SecretRotatedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// ClientChange is a client to create or the changes to one; nil fields are
// absent. ParseClientChange validates it.
type ClientChange struct {
	Name     *string
	Scopes   *[]string
	IsActive *bool
}

// maxClientScopeBytes bounds a client's scopes as a whole, space-separated
// as its access token carries them: with every other claim and the largest
// signature Config Vault makes (RSA-4096), the token stays well under
// authn.MaxTokenSize. The spec's bounds (200 names of up to 129 characters)
// would allow six times as much. The database checks it too
// (clients_scopes_length_check).
const maxClientScopeBytes = 4096

// ParseClientChange validates what the spec cannot: a name is not blank and
// holds no control characters (it is trimmed), and the scopes fit
// maxClientScopeBytes.
func ParseClientChange(c ClientChange) (ClientChange, error) {
	var bad []problem.FieldError
	if c.Name != nil {
		name := strings.TrimSpace(*c.Name)
		switch {
		case name == "":
			bad = append(bad, problem.FieldError{Field: "body.name", Message: "must not be blank"})
		case strings.IndexFunc(name, unicode.IsControl) >= 0:
			bad = append(bad, problem.FieldError{Field: "body.name", Message: "must not contain control characters"})
		}
		c.Name = &name
	}
	if c.Scopes != nil {
		if n := len(strings.Join(*c.Scopes, " ")); n > maxClientScopeBytes {
			bad = append(bad, problem.FieldError{Field: "body.scopes",
				Message: fmt.Sprintf("take %d bytes space-separated, more than the %d a client's access token has room for", n, maxClientScopeBytes)})
		}
	}
	if len(bad) > 0 {
		return c, problem.Invalid("the request is invalid", bad...)
	}
	return c, nil
}

// checkNewScopes holds the scopes a client of the tenant is given to the
// rules of the spec's Scopes: none is a permission only the platform's
// services hold, a platform-level one (it acts across tenants) only for the
// platform tenant's clients, as UAM grants them only to the platform
// tenant's roles (400 for either); and the caller holds each (callerHolds).
func (s *Service) checkNewScopes(ctx context.Context, tenantID uuid.UUID, scopes []string) error {
	var refused []problem.FieldError
	for i, name := range scopes {
		field := fmt.Sprintf("body.scopes.%d", i)
		switch {
		case authn.IsServiceOnly(name):
			refused = append(refused, problem.FieldError{Field: field, Message: fmt.Sprintf("%q is held by the platform's services only", name)})
		case !s.mayHold(tenantID, name):
			refused = append(refused, problem.FieldError{Field: field,
				Message: fmt.Sprintf("%q is a platform-level permission, for the platform tenant's clients only", name)})
		}
	}
	if len(refused) > 0 {
		return problem.Invalid("the request is invalid", refused...)
	}
	return callerHolds(ctx, scopes)
}

// mayTakeAway requires the caller to hold the platform-level permissions
// (authn.PlatformPermissions) that a client loses when its scopes go from
// before to after (nil: the client is deleted), as uam requires of roles:
// a holder of clients:write alone must not be able to take the platform's
// operator clients their tenants:write or tenants:access. Tenant-level
// scopes are left to the ordinary rules.
func mayTakeAway(ctx context.Context, before, after []string) error {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return authn.MissingToken()
	}
	for _, name := range authn.PlatformLevelTakenAway(before, after) {
		if !p.Has(name, nil) {
			return problem.New(problem.KindForbidden, "taking %s away from a client needs holding it tenant-wide; the access token lacks it", name)
		}
	}
	return nil
}

// callerHolds requires the caller to hold each permission tenant-wide: a
// client never gets more than whoever registered, changed or revived it
// has, so a holder of clients:write alone cannot mint itself a tenant
// administrator, and only who holds all a client's permissions can take its
// secret. Whether a permission exists needs no catalogue: the caller holds
// it, so its tenant has it.
func callerHolds(ctx context.Context, perms []string) error {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return authn.MissingToken()
	}
	var lacking []string
	for _, name := range perms {
		if !p.Has(name, nil) {
			lacking = append(lacking, name)
		}
	}
	if len(lacking) > 0 {
		return problem.New(problem.KindForbidden, "a client can hold only permissions the caller holds tenant-wide; the access token lacks %s",
			strings.Join(lacking, " "))
	}
	return nil
}

// tenantExists is nil for a tenant Config Vault knows, else a not-found
// problem. A positive answer is reused for tenantExistsTTL; "not found" and
// failures are never cached.
func (s *Service) tenantExists(ctx context.Context, tenantID uuid.UUID) error {
	_, err := s.known.Get(ctx, tenantID, func(ctx context.Context) (struct{}, error) {
		_, err := s.vault.tenant(ctx, tenantID)
		return struct{}{}, err
	})
	return err
}

// tenantExistsTTL is how long IAM trusts that a tenant exists, as UAM's
// Directory does: every client request asks, tenants are deleted rarely, and
// a deleted tenant's clients go with their rows' own checks. A tenant deleted
// in Config Vault may thus still be seen for up to this long.
const tenantExistsTTL = 30 * time.Second

// CreateClient registers a client of the tenant and returns it with its
// secret: 256 random bits, shown this once and stored as a SHA-256 hash.
func (s *Service) CreateClient(ctx context.Context, tenantID uuid.UUID, c ClientChange) (Client, string, error) {
	if c.Name == nil || c.Scopes == nil {
		return Client{}, "", errors.New("iam: CreateClient needs a name and scopes")
	}
	if err := s.tenantExists(ctx, tenantID); err != nil {
		return Client{}, "", err
	}
	if err := s.checkNewScopes(ctx, tenantID, *c.Scopes); err != nil {
		return Client{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Client{}, "", err
	}
	secret, hash := newToken()
	row, err := s.q.CreateClient(ctx, db.CreateClientParams{TenantID: tenantID, ID: id, Name: *c.Name, SecretHash: hash,
		Scopes: *c.Scopes, IsActive: c.IsActive == nil || *c.IsActive})
	if err != nil {
		return Client{}, "", pg.Classify(err)
	}
	return clientOf(row), secret, nil
}

// Clients lists the tenant's clients after the given id, oldest first.
func (s *Service) Clients(ctx context.Context, tenantID uuid.UUID, after *uuid.UUID, limit int) ([]Client, error) {
	if err := s.tenantExists(ctx, tenantID); err != nil {
		return nil, err
	}
	rows, err := s.q.ListClients(ctx, db.ListClientsParams{TenantID: tenantID, After: after, RowLimit: int32(limit)})
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Client, len(rows))
	for i, r := range rows {
		out[i] = clientOf(r)
	}
	return out, nil
}

// Client reads one client of the tenant.
func (s *Service) Client(ctx context.Context, tenantID, id uuid.UUID) (Client, error) {
	row, err := s.q.GetClient(ctx, db.GetClientParams{TenantID: tenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, problem.NotFound("client %s not found", id)
	}
	if err != nil {
		return Client{}, pg.Classify(err)
	}
	return clientOf(row), nil
}

// missed explains why a conditional write touched no row: the client is
// gone (404) or its version moved on (412).
func (s *Service) missed(ctx context.Context, tenantID, id uuid.UUID) error {
	if _, err := s.Client(ctx, tenantID, id); err != nil {
		return err
	}
	return etag.Stale()
}

// UpdateClient changes the fields present if the client's version is one of
// expected (any when nil). Deactivating a client stops new tokens at once.
// New scopes are checked as at registration; reactivating a client gives
// its permissions back to whoever holds its secret, so it needs them all,
// as taking the secret does.
func (s *Service) UpdateClient(ctx context.Context, tenantID, id uuid.UUID, c ClientChange, expected []int64) (Client, error) {
	p := db.UpdateClientParams{TenantID: tenantID, ID: id, Name: c.Name, IsActive: c.IsActive, ExpectedVersions: expected}
	switch {
	case c.Scopes != nil:
		if err := s.checkNewScopes(ctx, tenantID, *c.Scopes); err != nil {
			return Client{}, err
		}
		current, err := s.Client(ctx, tenantID, id)
		if err != nil {
			return Client{}, err
		}
		if err := mayTakeAway(ctx, current.Scopes, *c.Scopes); err != nil {
			return Client{}, err
		}
		p.Scopes = *c.Scopes
		if p.Scopes == nil {
			p.Scopes = []string{} // an empty list, not "unchanged"
		}
	case c.IsActive != nil && *c.IsActive:
		var err error
		if p.ExpectedVersions, err = s.reactivation(ctx, tenantID, id, expected); err != nil {
			return Client{}, err
		}
	}
	row, err := s.q.UpdateClient(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, s.missed(ctx, tenantID, id)
	}
	if err != nil {
		return Client{}, pg.Classify(err)
	}
	return clientOf(row), nil
}

// DeleteClient deletes a client; one holding a platform-level permission only
// for a caller holding it too (mayTakeAway).
func (s *Service) DeleteClient(ctx context.Context, tenantID, id uuid.UUID, expected []int64) error {
	current, err := s.Client(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := mayTakeAway(ctx, current.Scopes, nil); err != nil {
		return err
	}
	n, err := s.q.DeleteClient(ctx, db.DeleteClientParams{TenantID: tenantID, ID: id, ExpectedVersions: expected})
	if err != nil {
		return pg.Classify(err)
	}
	if n == 0 {
		return s.missed(ctx, tenantID, id)
	}
	return nil
}

// RotateClientSecret replaces a client's secret (the old one stops working
// at once) and returns the new one, to a caller who holds every permission
// of the client.
func (s *Service) RotateClientSecret(ctx context.Context, tenantID, id uuid.UUID, expected []int64) (Client, string, error) {
	current, err := s.Client(ctx, tenantID, id)
	if err != nil {
		return Client{}, "", err
	}
	if err := s.callerHoldsAllOf(ctx, current); err != nil {
		return Client{}, "", err
	}
	pinned, err := pin(current, expected)
	if err != nil {
		return Client{}, "", err
	}
	secret, hash := newToken()
	row, err := s.q.RotateClientSecret(ctx, db.RotateClientSecretParams{TenantID: tenantID, ID: id, SecretHash: hash,
		ExpectedVersions: pinned})
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, "", s.missed(ctx, tenantID, id)
	}
	if err != nil {
		return Client{}, "", pg.Classify(err)
	}
	return clientOf(row), secret, nil
}

// reactivation checks setting a client active: when it is inactive, that
// gives its permissions back to whoever holds its secret, so the caller
// must hold them all. It returns the versions the change may apply to (see
// pin): the client must not change between this check and the write, be it
// widened or deactivated by someone else.
func (s *Service) reactivation(ctx context.Context, tenantID, id uuid.UUID, expected []int64) ([]int64, error) {
	current, err := s.Client(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if !current.IsActive {
		if err := s.callerHoldsAllOf(ctx, current); err != nil {
			return nil, err
		}
	}
	return pin(current, expected)
}

// callerHoldsAllOf requires the caller to hold every permission the client's
// access tokens carry, to hand them out (its secret, its reactivation).
func (s *Service) callerHoldsAllOf(ctx context.Context, c Client) error {
	return callerHolds(ctx, s.grantable(c.TenantID, c.Scopes))
}

// pin returns the versions a write that was checked against current may
// apply to: current's own, provided expected (If-Match; nil: any) allows it,
// else 412. A write pinned so touches no row when another change came
// between the check and the write (an administrator widening the scopes,
// say) and is answered 412, instead of applying to a client the caller was
// never checked against.
func pin(current Client, expected []int64) ([]int64, error) {
	if expected != nil && !slices.Contains(expected, current.Version) {
		return nil, etag.Stale()
	}
	return []int64{current.Version}, nil
}

// clientActive reports whether the tenant's client exists and is active;
// id comes from a verified token.
func (s *Service) clientActive(ctx context.Context, tenantID uuid.UUID, id string) (bool, error) {
	clientID, err := uuid.Parse(id)
	if err != nil {
		return false, nil
	}
	c, err := s.Client(ctx, tenantID, clientID)
	if problem.Is(err, problem.KindNotFound) {
		return false, nil
	}
	return c.IsActive, err
}

// authenticateClient checks a client's credentials: an active client whose
// secret matches, compared in constant time. Every failure is the same
// invalid_client, so the answer does not tell unknown ids from wrong
// secrets or inactive clients.
func (s *Service) authenticateClient(ctx context.Context, id, secret string) (Client, error) {
	invalid := oauthFail(errInvalidClient, "client authentication failed")
	clientID, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return Client{}, invalid
	}
	row, err := s.q.GetClientByID(ctx, clientID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, invalid
	}
	if err != nil {
		return Client{}, pg.Classify(err)
	}
	hash, ok := hashToken(secret)
	if !ok || subtle.ConstantTimeCompare(hash, row.SecretHash) != 1 || !row.IsActive {
		return Client{}, invalid
	}
	return clientOf(row), nil
}
