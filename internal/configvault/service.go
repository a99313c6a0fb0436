package configvault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

const (
	// DefaultKeyLifetimeDays is how long a new key lives when its creator
	// does not say (NewKey.ExpiresInDays 0, expires_in_days absent).
	DefaultKeyLifetimeDays = 365
	// MaxKeyLifetimeDays bounds expires_in_days; the spec repeats it.
	MaxKeyLifetimeDays = 3650
	// maxStatusAttempts bounds how often a key state change without
	// If-Match reads the key again after losing a race to another change.
	// Every lost race means another change was applied, so only that many
	// changes landing within one request's read-write windows exhaust it.
	maxStatusAttempts = 16
	// maxRSASlotWait bounds how long a create waits for an RSA generation
	// slot. Past it the answer is 503 with Retry-After: a burst of large RSA
	// creates then fails fast instead of queueing requests for minutes,
	// until long after their clients have given up.
	maxRSASlotWait = 5 * time.Second
	// rsaBusyRetryAfter is the Retry-After of that 503.
	rsaBusyRetryAfter = 5 * time.Second
)

// Service holds the use cases of the Config Vault; handlers call one method each.
type Service struct {
	store   *store
	keyring *keycrypto.Keyring
	// generate makes a key pair: the pool's Generate (pre-generated RSA
	// keys when keygen is given, inline otherwise); tests replace it.
	generate func(keycrypto.Spec) (*keycrypto.Material, error)
	// rsaSlots is a semaphore bounding the RSA key generations running at
	// once: RSA generation burns up to seconds of CPU and cannot be
	// interrupted, so more of them than there are processors only queue.
	// ES256 and Ed25519 keys take microseconds and never wait for a slot.
	rsaSlots chan struct{}
	// rsaSlotWait bounds the wait for a slot: maxRSASlotWait (tests change it).
	rsaSlotWait time.Duration
	// waitingForRSASlot, when set, is called as a create starts waiting for
	// a slot (none was free): a test hook.
	waitingForRSASlot func()
	// signers caches opened signing keys for SignToken; see signerCache.
	signers *signerCache
	// activeKeys caches SignToken's choice of key per owner for a short
	// while; see activeKeyCache and forgetKeys.
	activeKeys *activeKeyCache
	// platform is the platform tenant (EnsurePlatformTenant), which may be
	// neither deactivated nor deleted: its administrators would lose the
	// platform, and a restart would not bring it back.
	platform atomic.Pointer[uuid.UUID]
	// firstKeyWait bounds how long SignToken waits for another request
	// creating the same tenant's key: maxFirstKeyWait (tests change it).
	firstKeyWait time.Duration
	now          func() time.Time
}

// NewService wires the use cases to a database and the master keyring.
// keygen may be nil; keys are then generated inline.
func NewService(pool *pgxpool.Pool, keyring *keycrypto.Keyring, keygen *keycrypto.Pool) *Service {
	s := &Service{
		store: newStore(pool), keyring: keyring, generate: keygen.Generate,
		rsaSlots: make(chan struct{}, runtime.GOMAXPROCS(0)), rsaSlotWait: maxRSASlotWait,
		signers: newSignerCache(maxCachedSigners), firstKeyWait: maxFirstKeyWait, now: time.Now,
	}
	s.activeKeys = newActiveKeyCache(activeKeyTTL, func() time.Time { return s.now() })
	return s
}

// forgetKeys drops what this process remembers about the signing keys of a
// tenant (its own and its sites'), or of one site: the cached choices of
// SignToken. Called after every committed change of a key, tenant or site
// state, before the change is answered.
func (s *Service) forgetKeys(tenantID, siteID *uuid.UUID) {
	s.activeKeys.forgetOwned(tenantID, siteID)
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

// CreateTenant is for platform administrators only: a tenant's own
// administrators hold tenants:write to change their tenant, not to make others.
func (s *Service) CreateTenant(ctx context.Context, in NewTenant) (Tenant, error) {
	if err := platformLevel(ctx, "create tenants"); err != nil {
		return Tenant{}, err
	}
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

// ListTenants lists every tenant for a call that reaches every tenant; any
// other caller sees its own tenant only, as a list of at most one that the
// filters and the cursor apply to as they would to the whole list.
func (s *Service) ListTenants(ctx context.Context, q ListQuery, isActive *bool) ([]Tenant, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	var rows []Tenant
	if own, confined := reachOf(ctx).only(); confined {
		rows, err = s.ownTenantAsList(ctx, own, after, isActive)
	} else {
		rows, err = s.store.listTenants(ctx, after, isActive, limit+1)
	}
	if err != nil {
		return nil, nil, err
	}
	items, next := page.Cut(rows, limit, func(t Tenant) uuid.UUID { return t.ID })
	return items, next, nil
}

// ownTenantAsList is tenant id as ListTenants would list it alone: absent
// when it does not exist (a token may outlive its tenant), when the
// is_active filter excludes it, or when the cursor is already past it (ids
// compare as PostgreSQL compares uuids, byte by byte).
func (s *Service) ownTenantAsList(ctx context.Context, id uuid.UUID, after *uuid.UUID, isActive *bool) ([]Tenant, error) {
	t, err := s.store.tenant(ctx, id)
	switch {
	case problem.Is(err, problem.KindNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case isActive != nil && t.IsActive != *isActive, after != nil && bytes.Compare(t.ID[:], after[:]) <= 0:
		return nil, nil
	}
	return []Tenant{t}, nil
}

// UpdateTenant changes the fields present in p if the tenant's version is
// one that ifMatch names (any, without If-Match).
func (s *Service) UpdateTenant(ctx context.Context, id uuid.UUID, p Patch, ifMatch *string) (Tenant, error) {
	p, err := p.validated()
	if err != nil {
		return Tenant{}, err
	}
	if p.IsActive != nil && !*p.IsActive && s.isPlatform(id) {
		return Tenant{}, problem.Conflict("the platform tenant cannot be deactivated")
	}
	t, err := s.store.updateTenant(ctx, id, p, etag.Expected(ifMatch))
	if p.IsActive != nil {
		s.forgetKeys(&id, nil) // even on error: the write may have committed
	}
	if err == nil && !t.IsActive {
		s.signers.forgetOwned(&id, nil) // an inactive tenant signs nothing
	}
	return t, err
}

func (s *Service) isPlatform(id uuid.UUID) bool {
	p := s.platform.Load()
	return p != nil && *p == id
}

// DeleteTenant removes the tenant with its sites and keys in one statement.
func (s *Service) DeleteTenant(ctx context.Context, id uuid.UUID, ifMatch *string) error {
	if s.isPlatform(id) {
		return problem.Conflict("the platform tenant cannot be deleted")
	}
	err := s.store.deleteTenant(ctx, id, etag.Expected(ifMatch))
	s.forgetKeys(&id, nil)
	if err == nil {
		s.signers.forgetOwned(&id, nil)
	}
	return err
}

// NewSite is the input of CreateSite.
type NewSite struct {
	TenantID     uuid.UUID
	Name, Domain string
	IsActive     bool
}

// CreateSite refuses a tenant outside the call's reach as one that does
// not exist, but with 404 rather than the 400 of an unknown body.tenant_id,
// which would tell the caller that the tenant exists.
func (s *Service) CreateSite(ctx context.Context, in NewSite) (Site, error) {
	if err := within(ctx, in.TenantID, tenantNotFound(in.TenantID)); err != nil {
		return Site{}, err
	}
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

// Site reads a site; one of a tenant outside the call's reach is not found.
func (s *Service) Site(ctx context.Context, id uuid.UUID) (Site, error) {
	st, err := s.store.site(ctx, id)
	return visible(ctx, st, err, siteNotFound(id))
}

// ListSites lists the sites of every tenant, or only of tenantID when it is
// given (a filter: a tenant that does not exist simply has no sites). A
// caller confined to one tenant lists that tenant's sites only; a filter
// naming another tenant lists nothing, as for a tenant that does not exist.
func (s *Service) ListSites(ctx context.Context, q ListQuery, tenantID *uuid.UUID, isActive *bool) ([]Site, *string, error) {
	if own, confined := reachOf(ctx).only(); confined {
		if tenantID != nil && *tenantID != own {
			_, _, err := q.bounds() // a bad cursor is still a 400
			return nil, nil, err
		}
		tenantID = &own
	}
	return s.listSites(ctx, q, tenantID, isActive)
}

func (s *Service) listSites(ctx context.Context, q ListQuery, tenantID *uuid.UUID, isActive *bool) ([]Site, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.store.listSites(ctx, tenantID, after, isActive, limit+1)
	if err != nil {
		return nil, nil, err
	}
	items, next := page.Cut(rows, limit, func(st Site) uuid.UUID { return st.ID })
	return items, next, nil
}

// ListTenantSites lists one tenant's sites; the tenant must exist (404).
func (s *Service) ListTenantSites(ctx context.Context, q ListQuery, tenantID uuid.UUID, isActive *bool) ([]Site, *string, error) {
	items, next, err := s.listSites(ctx, q, &tenantID, isActive)
	if err == nil && len(items) == 0 {
		// Only an empty page needs telling "no such tenant" from "no sites".
		_, err = s.store.tenant(ctx, tenantID)
	}
	if err != nil {
		return nil, nil, err
	}
	return items, next, nil
}

// UpdateSite changes the fields present in p if the site's version is one
// that ifMatch names (any, without If-Match), and if the call may see it.
func (s *Service) UpdateSite(ctx context.Context, id uuid.UUID, p Patch, ifMatch *string) (Site, error) {
	p, err := p.validated()
	if err != nil {
		return Site{}, err
	}
	if _, err := s.Site(ctx, id); err != nil {
		return Site{}, err
	}
	st, err := s.store.updateSite(ctx, id, p, etag.Expected(ifMatch))
	if p.IsActive != nil {
		s.forgetKeys(nil, &id)
	}
	if err == nil && !st.IsActive {
		s.signers.forgetOwned(nil, &id) // an inactive site signs nothing
	}
	return st, err
}

// DeleteSite removes the site with its keys in one statement, if the call
// may see it.
func (s *Service) DeleteSite(ctx context.Context, id uuid.UUID, ifMatch *string) error {
	if _, err := s.Site(ctx, id); err != nil {
		return err
	}
	err := s.store.deleteSite(ctx, id, etag.Expected(ifMatch))
	s.forgetKeys(nil, &id)
	if err == nil {
		s.signers.forgetOwned(nil, &id)
	}
	return err
}

// NewKey is the input of CreateKey. Zero values mean the defaults: RS256
// (2048 bits for RSA) and DefaultKeyLifetimeDays.
type NewKey struct {
	TenantID      uuid.UUID
	SiteID        *uuid.UUID
	Algorithm     string // "" means RS256
	KeySize       *int   // nil means keycrypto.DefaultRSAKeySize for RSA
	ExpiresInDays int    // 0 means DefaultKeyLifetimeDays
}

// CreateKey generates a key pair, seals the private key under the master key
// (bound to the new row's id) and stores it. The private key never leaves here.
func (s *Service) CreateKey(ctx context.Context, in NewKey) (SigningKey, error) {
	spec, err := keycrypto.ParseSpec(in.Algorithm, in.KeySize)
	if err != nil {
		return SigningKey{}, err
	}
	days := in.ExpiresInDays
	if days == 0 {
		days = DefaultKeyLifetimeDays
	}
	if days < 1 || days > MaxKeyLifetimeDays {
		return SigningKey{}, problem.Field("body.expires_in_days", fmt.Sprintf("must be between 1 and %d", MaxKeyLifetimeDays))
	}
	// As for CreateSite, a tenant outside the call's reach is not found.
	if err := within(ctx, in.TenantID, tenantNotFound(in.TenantID)); err != nil {
		return SigningKey{}, err
	}
	// Generation is by far the costliest step (seconds of CPU for a large
	// RSA key), so a key whose tenant or site does not exist is refused
	// before it. The foreign keys still decide at insert, should the owner
	// be deleted meanwhile. A site of another tenant is refused here too,
	// as no site of in.TenantID.
	if err := s.store.keyOwnerExists(ctx, in.TenantID, in.SiteID); err != nil {
		return SigningKey{}, err
	}
	m, err := s.generateKey(ctx, spec)
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
		ExpiresAt: s.now().Add(time.Duration(days) * 24 * time.Hour).UTC().Truncate(time.Microsecond),
	}
	if spec.KeySize > 0 {
		size := spec.KeySize
		k.KeySize = &size
	}
	created, err := s.store.createKey(ctx, sealedKey{SigningKey: k, ciphertext: ciphertext, masterKeyID: masterKeyID})
	s.forgetKeys(&in.TenantID, nil) // a site's own key comes before its tenant's at once
	if err == nil {
		keysCreated.WithLabelValues(string(spec.Algorithm)).Inc()
	}
	return created, err
}

// generateKey runs the generator, for RSA once a slot of the rsaSlots
// semaphore is free. The request decides how long it is worth waiting for
// one, up to rsaSlotWait: a request that ends meanwhile (cancelled, timed
// out) gets its context's error, one that waits too long a 503. A request
// that ended while its key was being generated gets its context's error too,
// and no key: nobody would learn the id of a key stored for it.
func (s *Service) generateKey(ctx context.Context, spec keycrypto.Spec) (*keycrypto.Material, error) {
	if spec.RSA() {
		release, err := s.rsaSlot(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	m, err := s.generate(spec)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		clear(m.PrivateDER)
		return nil, err
	}
	return m, nil
}

// rsaSlot takes a slot of the RSA semaphore, waiting at most rsaSlotWait
// and no longer than ctx lasts; release gives it back.
func (s *Service) rsaSlot(ctx context.Context) (release func(), err error) {
	release = func() { <-s.rsaSlots }
	select {
	case s.rsaSlots <- struct{}{}:
		return release, nil
	default:
	}
	if s.waitingForRSASlot != nil {
		s.waitingForRSASlot()
	}
	timeout := time.NewTimer(s.rsaSlotWait)
	defer timeout.Stop()
	select {
	case s.rsaSlots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timeout.C:
		return nil, &problem.Error{Kind: problem.KindUnavailable, RetryAfter: rsaBusyRetryAfter,
			Detail: "the server is busy generating other RSA keys; retry later, or choose ES256 or EdDSA, which need no wait"}
	}
}

// Key finds a key by id or kid; one of a tenant outside the call's reach is
// not found.
func (s *Service) Key(ctx context.Context, ref string) (SigningKey, error) {
	k, err := s.store.key(ctx, ref)
	return visible(ctx, k, err, keyNotFound(ref))
}

// ListTenantKeys lists a tenant's keys, its sites' included; the tenant must
// exist (404). status filters by effective status (expired included).
func (s *Service) ListTenantKeys(ctx context.Context, q ListQuery, tenantID uuid.UUID, status *KeyStatus) ([]SigningKey, *string, error) {
	items, next, err := s.listKeys(ctx, q, tenantID, nil, status)
	if err == nil && len(items) == 0 {
		// Only an empty page needs telling "no such tenant" from "no keys".
		_, err = s.store.tenant(ctx, tenantID)
	}
	if err != nil {
		return nil, nil, err
	}
	return items, next, nil
}

// ListSiteKeys lists one site's keys; the site must exist and be visible
// to the call (404).
func (s *Service) ListSiteKeys(ctx context.Context, q ListQuery, siteID uuid.UUID, status *KeyStatus) ([]SigningKey, *string, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return nil, nil, err
	}
	return s.listKeys(ctx, q, site.TenantID, &siteID, status)
}

func (s *Service) listKeys(ctx context.Context, q ListQuery, tenantID uuid.UUID, siteID *uuid.UUID, status *KeyStatus) ([]SigningKey, *string, error) {
	after, limit, err := q.bounds()
	if err != nil {
		return nil, nil, err
	}
	if status != nil {
		if _, err := ParseKeyStatus("query.status", string(*status)); err != nil {
			return nil, nil, err
		}
	}
	rows, err := s.store.listKeys(ctx, tenantID, siteID, after, status, limit+1)
	if err != nil {
		return nil, nil, err
	}
	items, next := page.Cut(rows, limit, func(k SigningKey) uuid.UUID { return k.ID })
	return items, next, nil
}

// TenantActiveKey is the key that signs for a tenant now: its newest active,
// unexpired tenant-level key. An inactive tenant has none (the store's query
// decides; here it is only told why).
func (s *Service) TenantActiveKey(ctx context.Context, tenantID uuid.UUID) (SigningKey, error) {
	k, owner, err := s.store.activeKey(ctx, tenantOwner(tenantID))
	switch {
	case err != nil:
		return SigningKey{}, err
	case k != nil:
		return *k, nil
	case !owner.TenantIsActive:
		return SigningKey{}, problem.NotFound("tenant %s is inactive, so it has no active key", tenantID)
	}
	return SigningKey{}, problem.NotFound("tenant %s has no active, unexpired tenant-level key", tenantID)
}

// SiteActiveKey is the key that signs for a site now: its own newest active,
// unexpired key, else its tenant's. An inactive site has none, not even its
// tenant's, and neither has a site of an inactive tenant (decided by the
// store's one query, as for TenantActiveKey). A site of a tenant outside the
// call's reach does not exist for that query.
func (s *Service) SiteActiveKey(ctx context.Context, siteID uuid.UUID) (SigningKey, error) {
	k, owner, err := s.store.activeKey(ctx, reachOf(ctx).siteOwner(siteID))
	switch {
	case err != nil:
		return SigningKey{}, err
	case k != nil:
		return *k, nil
	case !owner.SiteIsActive:
		return SigningKey{}, problem.NotFound("site %s is inactive, so it has no active key", siteID)
	case !owner.TenantIsActive:
		return SigningKey{}, problem.NotFound("the tenant of site %s is inactive, so the site has no active key", siteID)
	}
	return SigningKey{}, problem.NotFound("neither site %s nor its tenant has an active, unexpired key", siteID)
}

// TenantJWKS is the published key set of a tenant: its tenant-level keys
// that are active or inactive and unexpired; empty for an inactive tenant.
func (s *Service) TenantJWKS(ctx context.Context, tenantID uuid.UUID) ([]json.RawMessage, error) {
	return s.store.publishedKeys(ctx, tenantOwner(tenantID))
}

// SiteJWKS is the published key set of a site: its own keys and its
// tenant's, as for TenantJWKS; empty when the site or its tenant is inactive.
func (s *Service) SiteJWKS(ctx context.Context, siteID uuid.UUID) ([]json.RawMessage, error) {
	return s.store.publishedKeys(ctx, siteOwner(siteID))
}

// SetKeyStatus moves a key through its lifecycle. Each write is conditional
// on the version just read, so two concurrent transitions never both apply
// to the same version. Without If-Match, a write that lost such a race reads
// the key again and re-evaluates the transition against what won (a second
// revoke becomes a no-op, an activate after a revoke a 409), a bounded number
// of times. With If-Match, the client's versions decide: once the key has
// moved past them, the answer is 412. A key that is no longer active
// leaves the signer cache at once, and every change drops SignToken's cached
// choice of key for the tenant before it is answered (activeKeyCache).
func (s *Service) SetKeyStatus(ctx context.Context, ref string, to KeyStatus, ifMatch *string) (SigningKey, error) {
	k, err := s.setKeyStatus(ctx, ref, to, ifMatch)
	if err != nil {
		s.forgetKeys(nil, nil) // the write may have committed; the key's owner is unknown here
	} else {
		s.forgetKeys(&k.TenantID, nil)
	}
	if err == nil && k.Status != KeyActive {
		s.signers.forget(k.ID)
	}
	return k, err
}

func (s *Service) setKeyStatus(ctx context.Context, ref string, to KeyStatus, ifMatch *string) (SigningKey, error) {
	expected := etag.Expected(ifMatch)
	for range maxStatusAttempts {
		k, err := s.Key(ctx, ref)
		if err != nil {
			return SigningKey{}, err
		}
		if !etag.Matches(expected, k.Version) {
			return SigningKey{}, etag.Stale()
		}
		changes, err := k.transition(to, s.now())
		if err != nil || !changes {
			return k, err
		}
		updated, ok, err := s.store.setKeyStatus(ctx, k.ID, to, k.Version)
		if ok && err == nil && to == KeyRevoked {
			keysRevoked.Inc()
		}
		if err != nil || ok {
			return updated, err
		}
	}
	return SigningKey{}, &problem.Error{Kind: problem.KindConflict, RetryAfter: time.Second,
		Detail: fmt.Sprintf("key %s kept changing concurrently; retry", ref)}
}

// DeleteKey deletes a key by id or kid if its version is one ifMatch names
// and the call may see it.
func (s *Service) DeleteKey(ctx context.Context, ref string, ifMatch *string) error {
	k, err := s.Key(ctx, ref)
	if err != nil {
		return err
	}
	err = s.store.deleteKey(ctx, k.ID, etag.Expected(ifMatch))
	s.forgetKeys(&k.TenantID, nil)
	if err != nil {
		return err
	}
	s.signers.forget(k.ID)
	return nil
}

// CheckKeyring verifies, typically at start, that the keyring holds every
// master key that sealed a stored signing key, so that a master key dropped
// from the configuration too early is reported at once rather than when a
// key is next used. The error names master key ids (one-way hashes) and key
// counts, never key material. It reads one count per master key in one query.
func (s *Service) CheckKeyring(ctx context.Context) error {
	counts, err := s.store.keysByMasterKey(ctx)
	if err != nil {
		return fmt.Errorf("configvault: reading which master keys sealed the signing keys: %w", err)
	}
	var missing []MasterKeyCount
	for _, c := range counts {
		if !s.keyring.Has(c.MasterKeyID) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &MissingMasterKeyError{Missing: missing}
}

// MissingMasterKeyError is CheckKeyring's error: stored keys are sealed
// under master keys the keyring does not hold. It matches
// keycrypto.ErrUnknownMasterKey with errors.Is.
type MissingMasterKeyError struct {
	Missing []MasterKeyCount
}

// MasterKeyCount is how many stored signing keys one master key sealed.
type MasterKeyCount struct {
	MasterKeyID string
	Keys        int64
}

func (e *MissingMasterKeyError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, c := range e.Missing {
		parts[i] = fmt.Sprintf("%s sealed under master key %s", keysAre(c.Keys), c.MasterKeyID)
	}
	if len(parts) == 1 {
		return parts[0] + ", which is not configured: set it in SAAS_MASTER_KEY or SAAS_MASTER_KEY_PREVIOUS"
	}
	return strings.Join(parts, "; ") + "; none of these master keys is configured: set each in SAAS_MASTER_KEY or SAAS_MASTER_KEY_PREVIOUS"
}

func (e *MissingMasterKeyError) Unwrap() error { return keycrypto.ErrUnknownMasterKey }

func keysAre(n int64) string {
	if n == 1 {
		return "1 signing key is"
	}
	return fmt.Sprintf("%d signing keys are", n)
}

// newID makes a time-ordered id, so id order is creation order.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
