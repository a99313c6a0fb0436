package configvault

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Service holds the use cases of the Config Vault; handlers call one method each.
type Service struct {
	store   *store
	keyring *keycrypto.Keyring
	keygen  *keycrypto.Pool // optional: pre-generated RSA keys
	now     func() time.Time
}

// NewService wires the use cases to a database and the master keyring.
// keygen may be nil; keys are then generated inline.
func NewService(pool *pgxpool.Pool, keyring *keycrypto.Keyring, keygen *keycrypto.Pool) *Service {
	return &Service{store: newStore(pool), keyring: keyring, keygen: keygen, now: time.Now}
}

// Patch is a partial update; nil fields keep their value.
type Patch struct {
	Name     *string
	Domain   *string
	IsActive *bool
}

// validated checks and normalises the fields present in the patch.
func (p Patch) validated() (Patch, error) {
	if p.Name != nil {
		name, err := ParseName("body.name", *p.Name)
		if err != nil {
			return p, err
		}
		p.Name = &name
	}
	if p.Domain != nil {
		domain, err := ParseDomain("body.domain", *p.Domain)
		if err != nil {
			return p, err
		}
		p.Domain = &domain
	}
	return p, nil
}

// ListQuery is a page request shared by every list.
type ListQuery struct {
	Cursor *string
	Limit  *int
}

func (q ListQuery) bounds() (*uuid.UUID, int, error) {
	after, err := page.Decode(q.Cursor)
	return after, page.Limit(q.Limit), err
}

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	Name, Domain string
	IsActive     bool
}

func (s *Service) CreateTenant(ctx context.Context, in NewTenant) (Tenant, error) {
	name, err := ParseName("body.name", in.Name)
	if err != nil {
		return Tenant{}, err
	}
	domain, err := ParseDomain("body.domain", in.Domain)
	if err != nil {
		return Tenant{}, err
	}
	return s.store.createTenant(ctx, Tenant{ID: newID(), Name: name, Domain: domain, IsActive: in.IsActive})
}

func (s *Service) Tenant(ctx context.Context, id uuid.UUID) (Tenant, error) {
	return s.store.tenant(ctx, id)
}

func (s *Service) ListTenants(ctx context.Context, q ListQuery, isActive *bool) ([]Tenant, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.store.listTenants(ctx, after, isActive, limit+1)
	if err != nil {
		return nil, nil, err
	}
	items, next := page.Cut(rows, limit, func(t Tenant) uuid.UUID { return t.ID })
	return items, next, nil
}

func (s *Service) UpdateTenant(ctx context.Context, id uuid.UUID, p Patch, ifMatch *string) (Tenant, error) {
	p, err := p.validated()
	if err != nil {
		return Tenant{}, err
	}
	return s.store.updateTenant(ctx, id, p, etag.Expected(ifMatch))
}

// DeleteTenant removes the tenant with its sites and keys in one statement.
func (s *Service) DeleteTenant(ctx context.Context, id uuid.UUID, ifMatch *string) error {
	return s.store.deleteTenant(ctx, id, etag.Expected(ifMatch))
}

// NewSite is the input of CreateSite.
type NewSite struct {
	TenantID     uuid.UUID
	Name, Domain string
	IsActive     bool
}

func (s *Service) CreateSite(ctx context.Context, in NewSite) (Site, error) {
	name, err := ParseName("body.name", in.Name)
	if err != nil {
		return Site{}, err
	}
	domain, err := ParseDomain("body.domain", in.Domain)
	if err != nil {
		return Site{}, err
	}
	return s.store.createSite(ctx, Site{ID: newID(), TenantID: in.TenantID, Name: name, Domain: domain, IsActive: in.IsActive})
}

func (s *Service) Site(ctx context.Context, id uuid.UUID) (Site, error) { return s.store.site(ctx, id) }

// ListSites lists every tenant's sites, or one tenant's; a tenant that does not
// exist is a 404 only when asked for by path (requireTenant).
func (s *Service) ListSites(ctx context.Context, q ListQuery, tenantID *uuid.UUID, isActive *bool, requireTenant bool) ([]Site, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.store.listSites(ctx, tenantID, after, isActive, limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 && requireTenant {
		if _, err := s.store.tenant(ctx, *tenantID); err != nil {
			return nil, nil, err
		}
	}
	items, next := page.Cut(rows, limit, func(st Site) uuid.UUID { return st.ID })
	return items, next, nil
}

func (s *Service) UpdateSite(ctx context.Context, id uuid.UUID, p Patch, ifMatch *string) (Site, error) {
	p, err := p.validated()
	if err != nil {
		return Site{}, err
	}
	return s.store.updateSite(ctx, id, p, etag.Expected(ifMatch))
}

// DeleteSite removes the site with its keys in one statement.
func (s *Service) DeleteSite(ctx context.Context, id uuid.UUID, ifMatch *string) error {
	return s.store.deleteSite(ctx, id, etag.Expected(ifMatch))
}

// NewKey is the input of CreateKey.
type NewKey struct {
	TenantID      uuid.UUID
	SiteID        *uuid.UUID
	Algorithm     string
	KeySize       *int
	ExpiresInDays int
}

// CreateKey generates a key pair, seals the private key under the master key
// (bound to the new row's id) and stores it. The private key never leaves here.
func (s *Service) CreateKey(ctx context.Context, in NewKey) (SigningKey, error) {
	spec, err := keycrypto.ParseSpec(in.Algorithm, in.KeySize)
	if err != nil {
		return SigningKey{}, err
	}
	if in.ExpiresInDays < 1 || in.ExpiresInDays > 3650 {
		return SigningKey{}, problem.Field("body.expires_in_days", "must be between 1 and 3650")
	}
	m, err := s.keygen.Generate(spec)
	if err != nil {
		return SigningKey{}, err
	}
	id := newID()
	ciphertext, masterKeyID, err := s.keyring.Seal(m.PrivateDER, id[:])
	clear(m.PrivateDER)
	if err != nil {
		return SigningKey{}, err
	}
	k := SigningKey{
		ID: id, TenantID: in.TenantID, SiteID: in.SiteID, Kid: m.Kid, Algorithm: spec.Algorithm,
		PublicPEM: string(m.PublicPEM), PublicJWK: m.PublicJWK, Status: KeyActive,
		ExpiresAt: s.now().Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour).UTC().Truncate(time.Microsecond),
	}
	if spec.KeySize > 0 {
		size := spec.KeySize
		k.KeySize = &size
	}
	return s.store.createKey(ctx, sealedKey{SigningKey: k, ciphertext: ciphertext, masterKeyID: masterKeyID})
}

// Key finds a key by id or kid.
func (s *Service) Key(ctx context.Context, ref string) (SigningKey, error) {
	return s.store.key(ctx, ref)
}

// ListKeys lists a tenant's keys (siteID nil: site keys included) or a site's.
func (s *Service) ListKeys(ctx context.Context, q ListQuery, tenantID *uuid.UUID, siteID *uuid.UUID, status *KeyStatus) ([]SigningKey, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	var owner uuid.UUID
	if siteID != nil {
		site, err := s.store.site(ctx, *siteID)
		if err != nil {
			return nil, nil, err
		}
		owner = site.TenantID
	} else {
		owner = *tenantID
	}
	rows, err := s.store.listKeys(ctx, owner, siteID, after, status, limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 && siteID == nil {
		if _, err := s.store.tenant(ctx, owner); err != nil {
			return nil, nil, err
		}
	}
	items, next := page.Cut(rows, limit, func(k SigningKey) uuid.UUID { return k.ID })
	return items, next, nil
}

// ActiveKey is the key that signs now: for a site its own newest active key,
// else its tenant's; for a tenant its newest tenant-level active key.
func (s *Service) ActiveKey(ctx context.Context, tenantID *uuid.UUID, siteID *uuid.UUID) (SigningKey, error) {
	owner, err := s.owner(ctx, tenantID, siteID)
	if err != nil {
		return SigningKey{}, err
	}
	return s.store.activeKey(ctx, owner, siteID)
}

// JWKS is the published key set of a tenant, or of a site with its tenant's keys.
func (s *Service) JWKS(ctx context.Context, tenantID *uuid.UUID, siteID *uuid.UUID) ([]json.RawMessage, error) {
	owner, err := s.owner(ctx, tenantID, siteID)
	if err != nil {
		return nil, err
	}
	return s.store.publishedKeys(ctx, owner, siteID)
}

// owner resolves the tenant that a tenant or site path names, 404 if none.
func (s *Service) owner(ctx context.Context, tenantID *uuid.UUID, siteID *uuid.UUID) (uuid.UUID, error) {
	if siteID != nil {
		site, err := s.store.site(ctx, *siteID)
		return site.TenantID, err
	}
	t, err := s.store.tenant(ctx, *tenantID)
	return t.ID, err
}

// SetKeyStatus moves a key through its lifecycle. The write is conditional on
// the version read (or the client's If-Match), so two concurrent transitions
// cannot both apply.
func (s *Service) SetKeyStatus(ctx context.Context, ref string, to KeyStatus, ifMatch *string) (SigningKey, error) {
	k, err := s.store.key(ctx, ref)
	if err != nil {
		return SigningKey{}, err
	}
	expected := etag.Expected(ifMatch)
	if expected != nil && *expected != k.Version {
		return SigningKey{}, etag.Stale()
	}
	changes, err := k.transition(to, s.now())
	if err != nil || !changes {
		return k, err
	}
	updated, err := s.store.setKeyStatus(ctx, k.ID, to, k.Version)
	if problem.Is(classify(err), problem.KindNotFound) {
		if expected != nil {
			return SigningKey{}, etag.Stale()
		}
		return SigningKey{}, problem.Conflict("key %s changed concurrently; retry", k.Kid)
	}
	return updated, classify(err)
}

func (s *Service) DeleteKey(ctx context.Context, ref string, ifMatch *string) error {
	k, err := s.store.key(ctx, ref)
	if err != nil {
		return err
	}
	return s.store.deleteKey(ctx, k.ID, etag.Expected(ifMatch))
}

// newID makes a time-ordered id, so id order is creation order.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
