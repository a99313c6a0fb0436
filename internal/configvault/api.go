package configvault

import (
	"context"
	"net/http"

	api "github.com/saasplatform/saas/gen/api/configvault"
	db "github.com/saasplatform/saas/gen/db/configvault"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// Migrations are the service's schema changes, applied at start.
var Migrations = pg.Migrations{Schema: "configvault", FS: schema.ConfigVault}

// NewAPI mounts the service: the generated routes over the handlers, with
// problem+json for every error and Idempotency-Key on the creating POSTs.
func NewAPI(svc *Service, idem *idempotency.Middleware) httpapi.API {
	spec, err := api.GetSwagger()
	if err != nil {
		panic(err) // the spec is embedded at build time; it cannot fail to parse
	}
	strict := api.NewStrictHandlerWithOptions(handlers{svc}, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  httpapi.RequestErrorHandler,
		ResponseErrorHandlerFunc: httpapi.ResponseErrorHandler,
	})
	h := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseURL:          Prefix,
		BaseRouter:       http.NewServeMux(),
		ErrorHandlerFunc: httpapi.RequestErrorHandler,
	})
	return httpapi.API{Name: "config-vault", Prefix: Prefix, Spec: spec, Handler: h, Idempotent: idem.Wrap(h)}
}

// RotateMasterKey re-encrypts every private key sealed under an earlier master
// key with the current one, a batch at a time. Each row is updated only if it
// is still sealed as it was read, so concurrent runs cannot clobber each other.
func (s *Service) RotateMasterKey(ctx context.Context) (int, error) {
	const batch = 100
	total := 0
	for {
		rows, err := s.store.q.KeysSealedWith(ctx, db.KeysSealedWithParams{CurrentMasterKeyID: s.keyring.CurrentID(), RowLimit: batch})
		if err != nil {
			return total, err
		}
		for _, r := range rows {
			sealed, mkID, err := s.keyring.Reseal(r.PrivateKeyCiphertext, r.MasterKeyID, r.ID[:])
			if err != nil {
				return total, err
			}
			n, err := s.store.q.ResealKey(ctx, db.ResealKeyParams{ID: r.ID, PrivateKeyCiphertext: sealed, MasterKeyID: mkID, PreviousMasterKeyID: r.MasterKeyID})
			if err != nil {
				return total, err
			}
			total += int(n)
		}
		if len(rows) < batch {
			return total, nil
		}
	}
}
