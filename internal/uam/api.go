package uam

import (
	"net/http"

	api "github.com/saasplatform/saas/gen/api/uam"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// Migrations are the service's schema changes, applied at start.
var Migrations = pg.Migrations{Schema: "uam", FS: schema.UAM}

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
	return httpapi.API{Name: "uam", Prefix: Prefix, Spec: spec, Handler: h, Idempotent: idem.Wrap(h)}
}
