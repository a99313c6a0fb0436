package configvault

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	db "github.com/saasplatform/saas/gen/db/configvault"
)

// EnsurePlatformTenant creates the platform tenant at first start: the
// tenant whose administrators act across tenants, with the fixed id every
// service is configured with. An existing tenant with that id is kept as it
// is, whatever its name and domain became. From then on the service refuses
// to deactivate or delete it.
func (s *Service) EnsurePlatformTenant(ctx context.Context, id uuid.UUID, name, domain string) (Tenant, error) {
	name, err := ParseName("name", name)
	if err != nil {
		return Tenant{}, err
	}
	if domain, err = ParseDomain("SAAS_PLATFORM_DOMAIN", domain); err != nil {
		return Tenant{}, err
	}
	s.platform.Store(&id)
	p := db.EnsureTenantParams{ID: id, Name: name, Domain: domain}
	row, err := s.store.q.EnsureTenant(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another replica inserted it after this statement's snapshot was
		// taken; a second statement sees it.
		row, err = s.store.q.EnsureTenant(ctx, p)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("creating the platform tenant %s (%s): %w", id, domain, classify(err))
	}
	return tenantFromRow(db.ConfigvaultTenant(row)), nil
}
