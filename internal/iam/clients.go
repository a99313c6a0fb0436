package iam

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
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

// ParseClientChange validates what the spec cannot: a name is not blank and
// holds no control characters (it is trimmed).
func ParseClientChange(c ClientChange) (ClientChange, error) {
	if c.Name == nil {
		return c, nil
	}
	name := strings.TrimSpace(*c.Name)
	switch {
	case name == "":
		return c, problem.Field("body.name", "must not be blank")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return c, problem.Field("body.name", "must not contain control characters")
	}
	c.Name = &name
	return c, nil
}

// checkScopes holds the scopes a client is given, or whose secret is
// issued, to two rules. None is a permission only the platform's services
// hold. And the caller holds each tenant-wide itself: a client never gets
// more than its registrar has, so a holder of clients:write alone cannot
// mint itself a tenant administrator, and only who holds all of a client's
// permissions can take its secret. That also keeps permissions of the
// platform tenant's administrators (platform-level ones) out of reach of
// every other tenant's administrators. Whether a permission exists needs no
// catalogue: the caller holds it, so its tenant has it.
func checkScopes(ctx context.Context, scopes []string) error {
	var reserved []problem.FieldError
	for i, name := range scopes {
		if authn.IsServiceOnly(name) {
			reserved = append(reserved, problem.FieldError{Field: fmt.Sprintf("body.scopes.%d", i),
				Message: fmt.Sprintf("%q is held by the platform's services only", name)})
		}
	}
	if len(reserved) > 0 {
		return problem.Invalid("the request is invalid", reserved...)
	}
	p, ok := authn.FromContext(ctx)
	if !ok {
		return authn.MissingToken()
	}
	var lacking []string
	for _, name := range scopes {
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

// tenantExists is nil for a tenant Config Vault knows, else a not-found problem.
func (s *Service) tenantExists(ctx context.Context, tenantID uuid.UUID) error {
	_, err := s.vault.tenant(ctx, tenantID)
	return err
}

// CreateClient registers a client of the tenant and returns it with its
// secret: 256 random bits, shown this once and stored as a SHA-256 hash.
func (s *Service) CreateClient(ctx context.Context, tenantID uuid.UUID, c ClientChange) (Client, string, error) {
	if c.Name == nil || c.Scopes == nil {
		return Client{}, "", errors.New("iam: CreateClient needs a name and scopes")
	}
	if err := s.tenantExists(ctx, tenantID); err != nil {
		return Client{}, "", err
	}
	if err := checkScopes(ctx, *c.Scopes); err != nil {
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
func (s *Service) UpdateClient(ctx context.Context, tenantID, id uuid.UUID, c ClientChange, expected []int64) (Client, error) {
	p := db.UpdateClientParams{TenantID: tenantID, ID: id, Name: c.Name, IsActive: c.IsActive, ExpectedVersions: expected}
	if c.Scopes != nil {
		if err := checkScopes(ctx, *c.Scopes); err != nil {
			return Client{}, err
		}
		p.Scopes = *c.Scopes
		if p.Scopes == nil {
			p.Scopes = []string{} // an empty list, not "unchanged"
		}
	}
	row, err := s.q.UpdateClient(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, s.missed(ctx, tenantID, id)
	}
	if err != nil {
		return Client{}, pg.Classify(err)
	}
	if !row.IsActive {
		if err := s.refresh.RevokeClient(ctx, tenantID, id); err != nil {
			return Client{}, err
		}
	}
	return clientOf(row), nil
}

// DeleteClient deletes a client; its refresh tokens go with it.
func (s *Service) DeleteClient(ctx context.Context, tenantID, id uuid.UUID, expected []int64) error {
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
// at once, and the client's sessions end) and returns the new one, to a
// caller who holds every permission of the client.
func (s *Service) RotateClientSecret(ctx context.Context, tenantID, id uuid.UUID, expected []int64) (Client, string, error) {
	current, err := s.Client(ctx, tenantID, id)
	if err != nil {
		return Client{}, "", err
	}
	if err := checkScopes(ctx, current.Scopes); err != nil {
		return Client{}, "", err
	}
	secret, hash := newToken()
	row, err := s.q.RotateClientSecret(ctx, db.RotateClientSecretParams{TenantID: tenantID, ID: id, SecretHash: hash,
		ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, "", s.missed(ctx, tenantID, id)
	}
	if err != nil {
		return Client{}, "", pg.Classify(err)
	}
	if err := s.refresh.RevokeClient(ctx, tenantID, id); err != nil {
		return Client{}, "", err
	}
	return clientOf(row), secret, nil
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
