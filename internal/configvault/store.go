package configvault

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// constraints translates the database's verdicts (the source of truth for
// uniqueness and ownership) into client errors; nothing is checked first.
var constraints = pg.Constraints{
	"tenants_domain_key":          problem.Conflict("a tenant with this domain already exists"),
	"sites_domain_key":            problem.Conflict("a site with this domain already exists"),
	"hostname_owner":              problem.Conflict("this domain belongs to another tenant"),
	"sites_tenant_id_fkey":        problem.Field("body.tenant_id", "no such tenant"),
	"signing_keys_tenant_id_fkey": problem.Field("body.tenant_id", "no such tenant"),
	"signing_keys_site_fkey":      problem.Field("body.site_id", "no such site in this tenant"),
	"signing_keys_kid_key":        problem.Conflict("a key with this kid already exists"),
}

// store adapts the sqlc queries to the domain model.
type store struct {
	q    *db.Queries
	pool *pgxpool.Pool // for transactions (pg.InTx)
}

func newStore(pool *pgxpool.Pool) *store { return &store{q: db.New(pool), pool: pool} }

func classify(err error) error { return constraints.Classify(err) }

func tenantFromRow(r db.ConfigvaultTenant) Tenant {
	return Tenant{ID: r.ID, Name: r.Name, Domain: r.Domain, IsActive: r.IsActive, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func siteFromRow(r db.ConfigvaultSite) Site {
	return Site{ID: r.ID, TenantID: r.TenantID, Name: r.Name, Domain: r.Domain, IsActive: r.IsActive,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func keyFromRow(r db.ConfigvaultSigningKey) SigningKey {
	k := SigningKey{ID: r.ID, TenantID: r.TenantID, SiteID: r.SiteID, Kid: r.Kid,
		Algorithm: keycrypto.Algorithm(r.Algorithm), PublicPEM: r.PublicKeyPem, PublicJWK: r.PublicJwk,
		Status: KeyStatus(r.Status), ExpiresAt: r.ExpiresAt, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.KeySize != nil {
		size := int(*r.KeySize)
		k.KeySize = &size
	}
	return k
}

func mapRows[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func (s *store) createTenant(ctx context.Context, t Tenant) (Tenant, error) {
	row, err := s.q.CreateTenant(ctx, db.CreateTenantParams{ID: t.ID, Name: t.Name, Domain: t.Domain, IsActive: t.IsActive})
	return tenantFromRow(row), classify(err)
}

func (s *store) tenant(ctx context.Context, id uuid.UUID) (Tenant, error) {
	row, err := s.q.GetTenant(ctx, id)
	if err != nil {
		return Tenant{}, notFoundOr(err, tenantNotFound(id))
	}
	return tenantFromRow(row), nil
}

func (s *store) listTenants(ctx context.Context, after *uuid.UUID, isActive *bool, limit int) ([]Tenant, error) {
	rows, err := s.q.ListTenants(ctx, db.ListTenantsParams{After: after, IsActive: isActive, RowLimit: int32(limit)})
	return mapRows(rows, tenantFromRow), classify(err)
}

func (s *store) updateTenant(ctx context.Context, id uuid.UUID, p Patch, expected []int64) (Tenant, error) {
	row, err := s.q.UpdateTenant(ctx, db.UpdateTenantParams{ID: id, Name: p.Name, Domain: p.Domain, IsActive: p.IsActive, ExpectedVersions: expected})
	if err != nil {
		return Tenant{}, s.explainMiss(err, func() error { _, err := s.tenant(ctx, id); return err })
	}
	return tenantFromRow(row), nil
}

func (s *store) deleteTenant(ctx context.Context, id uuid.UUID, expected []int64) error {
	n, err := s.q.DeleteTenant(ctx, db.DeleteTenantParams{ID: id, ExpectedVersions: expected})
	return s.deleted(n, err, func() error { _, err := s.tenant(ctx, id); return err })
}

func (s *store) createSite(ctx context.Context, st Site) (Site, error) {
	row, err := s.q.CreateSite(ctx, db.CreateSiteParams{TenantID: st.TenantID, ID: st.ID, Name: st.Name, Domain: st.Domain, IsActive: st.IsActive})
	return siteFromRow(row), classify(err)
}

func (s *store) site(ctx context.Context, id uuid.UUID) (Site, error) {
	row, err := s.q.GetSite(ctx, id)
	if err != nil {
		return Site{}, notFoundOr(err, siteNotFound(id))
	}
	return siteFromRow(row), nil
}

func (s *store) listSites(ctx context.Context, tenantID, after *uuid.UUID, isActive *bool, limit int) ([]Site, error) {
	rows, err := s.q.ListSites(ctx, db.ListSitesParams{TenantID: tenantID, After: after, IsActive: isActive, RowLimit: int32(limit)})
	return mapRows(rows, siteFromRow), classify(err)
}

func (s *store) updateSite(ctx context.Context, id uuid.UUID, p Patch, expected []int64) (Site, error) {
	row, err := s.q.UpdateSite(ctx, db.UpdateSiteParams{ID: id, Name: p.Name, Domain: p.Domain, IsActive: p.IsActive, ExpectedVersions: expected})
	if err != nil {
		return Site{}, s.explainMiss(err, func() error { _, err := s.site(ctx, id); return err })
	}
	return siteFromRow(row), nil
}

func (s *store) deleteSite(ctx context.Context, id uuid.UUID, expected []int64) error {
	n, err := s.q.DeleteSite(ctx, db.DeleteSiteParams{ID: id, ExpectedVersions: expected})
	return s.deleted(n, err, func() error { _, err := s.site(ctx, id); return err })
}

// keyOwnerExists checks, before a key is generated, that its tenant exists
// and that its site (if any) exists in that tenant, with the errors the
// foreign keys would give at insert.
func (s *store) keyOwnerExists(ctx context.Context, tenantID uuid.UUID, siteID *uuid.UUID) error {
	row, err := s.q.KeyOwnerExists(ctx, db.KeyOwnerExistsParams{TenantID: tenantID, SiteID: siteID})
	switch {
	case err != nil:
		return classify(err)
	case !row.TenantExists:
		return violated("signing_keys_tenant_id_fkey")
	case row.SiteExists == nil || !*row.SiteExists:
		return violated("signing_keys_site_fkey")
	}
	return nil
}

// violated is the error a constraint's violation gives, for a check made
// before the write that the constraint still guards.
func violated(constraint string) error {
	e := *constraints[constraint]
	return &e
}

// sealedKey is a new key as the store writes it.
type sealedKey struct {
	SigningKey
	ciphertext  []byte
	masterKeyID string
}

func (s *store) createKey(ctx context.Context, k sealedKey) (SigningKey, error) {
	return createKeyWith(ctx, s.q, k)
}

// createKeyWith inserts a key through q (the pool's or a transaction's).
func createKeyWith(ctx context.Context, q *db.Queries, k sealedKey) (SigningKey, error) {
	var size *int32
	if k.KeySize != nil {
		v := int32(*k.KeySize)
		size = &v
	}
	row, err := q.CreateKey(ctx, db.CreateKeyParams{
		TenantID: k.TenantID, ID: k.ID, SiteID: k.SiteID, Kid: k.Kid, Algorithm: string(k.Algorithm), KeySize: size,
		PublicKeyPem: k.PublicPEM, PublicJwk: k.PublicJWK, PrivateKeyCiphertext: k.ciphertext,
		MasterKeyID: k.masterKeyID, ExpiresAt: k.ExpiresAt,
	})
	return keyFromRow(row), classify(err)
}

// key finds a key by its id or its kid: a UUID is never a valid thumbprint.
func (s *store) key(ctx context.Context, ref string) (SigningKey, error) {
	var row db.ConfigvaultSigningKey
	var err error
	if id, perr := uuid.Parse(ref); perr == nil && len(ref) == 36 {
		row, err = s.q.GetKeyByID(ctx, id)
	} else {
		row, err = s.q.GetKeyByKid(ctx, ref)
	}
	if err != nil {
		return SigningKey{}, notFoundOr(err, keyNotFound(ref))
	}
	return keyFromRow(row), nil
}

func (s *store) listKeys(ctx context.Context, tenantID uuid.UUID, siteID, after *uuid.UUID, status *KeyStatus, limit int) ([]SigningKey, error) {
	rows, err := s.q.ListKeys(ctx, db.ListKeysParams{TenantID: tenantID, SiteID: siteID, After: after, Status: (*string)(status), RowLimit: int32(limit)})
	return mapRows(rows, keyFromRow), classify(err)
}

// keyOwner is whose keys a question is about: a tenant (its tenant-level
// keys) when only tenantID is set, or a site (its own keys and its tenant's)
// when siteID is set; with both set, a site of that tenant only.
type keyOwner struct {
	tenantID, siteID *uuid.UUID
}

func tenantOwner(id uuid.UUID) keyOwner { return keyOwner{tenantID: &id} }
func siteOwner(id uuid.UUID) keyOwner   { return keyOwner{siteID: &id} }

// tenantSiteOwner is a site that must belong to tenantID.
func tenantSiteOwner(tenantID, siteID uuid.UUID) keyOwner {
	return keyOwner{tenantID: &tenantID, siteID: &siteID}
}

// notFound is the error for an owner that does not exist.
func (o keyOwner) notFound() error {
	switch {
	case o.siteID != nil && o.tenantID != nil:
		return problem.NotFound("tenant %s has no site %s (or there is no such tenant)", *o.tenantID, *o.siteID)
	case o.siteID != nil:
		return siteNotFound(*o.siteID)
	}
	return tenantNotFound(*o.tenantID)
}

// ownerState is what the active-key query reports about the owner, for
// telling why it has no key; the query alone decides whether it has one.
type ownerState struct {
	TenantIsActive bool
	SiteIsActive   bool // true for a tenant owner
}

// activeKey returns the key that signs now for the owner, or nil and the
// owner's state when there is none, in one query; a missing owner is a
// not-found error.
func (s *store) activeKey(ctx context.Context, o keyOwner) (*SigningKey, ownerState, error) {
	k, state, err := s.activeSealedKey(ctx, s.q, o, nil)
	if k == nil {
		return nil, state, err
	}
	return &k.SigningKey, state, nil
}

// activeSealedKey is activeKey with the sealed private key, through q (the
// pool's or a transaction's), among the keys that stay unexpired until
// validUntil when it is given.
func (s *store) activeSealedKey(ctx context.Context, q *db.Queries, o keyOwner, validUntil *time.Time) (*sealedKey, ownerState, error) {
	row, err := q.ActiveKey(ctx, db.ActiveKeyParams{TenantID: o.tenantID, SiteID: o.siteID, ValidUntil: validUntil})
	if err != nil {
		if err = classify(err); problem.Is(err, problem.KindNotFound) {
			return nil, ownerState{}, o.notFound()
		}
		return nil, ownerState{}, err
	}
	state := ownerState{TenantIsActive: row.TenantIsActive, SiteIsActive: row.SiteIsActive}
	if row.ID == nil {
		return nil, state, nil
	}
	k := keyFromRow(db.ConfigvaultSigningKey{
		TenantID: *row.TenantID, ID: *row.ID, SiteID: row.SiteID, Kid: *row.Kid, Algorithm: *row.Algorithm,
		KeySize: row.KeySize, PublicKeyPem: *row.PublicKeyPem, PublicJwk: row.PublicJwk,
		Status: *row.Status, ExpiresAt: *row.ExpiresAt, RevokedAt: row.RevokedAt, Version: *row.Version,
		CreatedAt: *row.CreatedAt, UpdatedAt: *row.UpdatedAt,
	})
	return &sealedKey{SigningKey: k, ciphertext: row.PrivateKeyCiphertext, masterKeyID: *row.MasterKeyID}, state, nil
}

// publishedKeys returns the public JWKs the owner publishes, in one query; a
// missing owner is a not-found error.
func (s *store) publishedKeys(ctx context.Context, o keyOwner) ([]json.RawMessage, error) {
	rows, err := s.q.PublishedKeys(ctx, db.PublishedKeysParams{TenantID: o.tenantID, SiteID: o.siteID})
	if err != nil {
		return nil, classify(err)
	}
	if len(rows) == 0 {
		return nil, o.notFound()
	}
	keys := make([]json.RawMessage, 0, len(rows))
	for _, jwk := range rows {
		if jwk != nil { // the owner's row without a key
			keys = append(keys, jwk)
		}
	}
	return keys, nil
}

// setKeyStatus writes a new state if the row is still at version; ok is
// false when it is not (or is gone), for the caller to read it again.
func (s *store) setKeyStatus(ctx context.Context, id uuid.UUID, to KeyStatus, version int64) (k SigningKey, ok bool, err error) {
	row, err := s.q.SetKeyStatus(ctx, db.SetKeyStatusParams{ID: id, Status: string(to), ExpectedVersions: []int64{version}})
	if err = classify(err); problem.Is(err, problem.KindNotFound) {
		return SigningKey{}, false, nil
	}
	if err != nil {
		return SigningKey{}, false, err
	}
	return keyFromRow(row), true, nil
}

func (s *store) deleteKey(ctx context.Context, id uuid.UUID, expected []int64) error {
	n, err := s.q.DeleteKey(ctx, db.DeleteKeyParams{ID: id, ExpectedVersions: expected})
	return s.deleted(n, err, func() error { _, err := s.q.GetKeyByID(ctx, id); return notFoundOr(err, keyNotFound(id.String())) })
}

// keysByMasterKey counts the stored keys per master key, ordered by its id.
func (s *store) keysByMasterKey(ctx context.Context) ([]MasterKeyCount, error) {
	rows, err := s.q.KeysByMasterKey(ctx)
	return mapRows(rows, func(r db.KeysByMasterKeyRow) MasterKeyCount { return MasterKeyCount{r.MasterKeyID, r.Keys} }), classify(err)
}

// explainMiss tells why a conditional write touched no row: the row is gone
// (404) or its version moved on (412).
func (s *store) explainMiss(err error, exists func() error) error {
	if !problem.Is(classify(err), problem.KindNotFound) {
		return classify(err)
	}
	if missing := exists(); missing != nil {
		return missing
	}
	return etag.Stale()
}

func (s *store) deleted(n int64, err error, exists func() error) error {
	if err != nil {
		return classify(err)
	}
	if n == 1 {
		return nil
	}
	if missing := exists(); missing != nil {
		return missing
	}
	return etag.Stale()
}

// notFoundOr replaces a "no rows" error with missing; other errors are
// classified as usual.
func notFoundOr(err error, missing *problem.Error) error {
	err = classify(err)
	if problem.Is(err, problem.KindNotFound) {
		return missing
	}
	return err
}

// The answers for a tenant, site or key that does not exist, which are also
// those for one of another tenant (see reach).
func tenantNotFound(id uuid.UUID) *problem.Error { return problem.NotFound("tenant %s not found", id) }
func siteNotFound(id uuid.UUID) *problem.Error   { return problem.NotFound("site %s not found", id) }
func keyNotFound(ref string) *problem.Error      { return problem.NotFound("key %s not found", ref) }
