package content

import (
	"net/http"

	api "github.com/saasplatform/saas/gen/api/content"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// Migrations are the service's schema changes, applied at start.
var Migrations = pg.Migrations{Schema: "content", FS: schema.Content}

// MaxBody bounds a request body: an item's body (1 MiB) and data (256 KiB)
// with room for JSON escaping. httpapi refuses a larger one with 413 before
// reading it whole (at once when Content-Length says so, else once this
// much has arrived); the idempotency middleware in front of creates must
// accept as much (idempotency.Options.MaxBody).
const MaxBody = 4 << 20

// NewAPI mounts the service: the generated routes over the handlers, with
// problem+json for every error and Idempotency-Key on the creating POST.
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
	return httpapi.API{Name: "content", Prefix: Prefix, Spec: spec, Handler: h, Idempotent: idem.Wrap(h), MaxBody: MaxBody}
}
