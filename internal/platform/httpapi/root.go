package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

// Root assembles the process's handler: every mounted API under its prefix,
// the extra routes given (docs, health, metrics), 404 problems for everything
// else, and the middleware chain around it all: request id, metrics and
// access log, panic recovery. When tracing is on (tracing.Start ran before
// Root), requests to the APIs get a server span, continuing the caller's W3C
// trace context; when it is off, the handler is not wrapped at all.
func Root(apis []API, extra map[string]http.Handler) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, api := range apis {
		h, err := Mount(api)
		if err != nil {
			return nil, err
		}
		mux.Handle(api.Prefix+"/", h)
		mux.Handle(api.Prefix, h) // else ServeMux redirects it to the subtree
	}
	for pattern, h := range extra {
		mux.Handle(pattern, routeAs(pattern, h))
	}
	mux.HandleFunc("/", NotFound)
	service := serviceOf(apis)
	h := Chain(cleanPathsOnly(mux), RequestID, observe(service), Recover)
	if tracing.Enabled() {
		// Probes, scrapes and docs pages are not worth a trace.
		h = otelhttp.NewHandler(h, "http.server", otelhttp.WithFilter(func(r *http.Request) bool {
			return service(r.URL.Path) != NoService
		}))
	}
	return h, nil
}

// routeAs labels the requests of an extra route with its pattern.
func routeAs(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), pattern)
		h.ServeHTTP(w, r)
	})
}

// cleanPathsOnly answers paths with empty or dot segments with a 404 problem.
// ServeMux would redirect them with an HTML body, which an API client does
// not expect, and no resource lives at such a path.
func cleanPathsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "/./") ||
			strings.Contains(p, "/../") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
			NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Health answers /healthz (the process is up) and /readyz (it can serve:
// ready returns nil). Both are GET-only and cheap enough for tight probes.
func Health(ready func(context.Context) error) map[string]http.Handler {
	return map[string]http.Handler{
		"/healthz": getOnly(func(w http.ResponseWriter, r *http.Request) {
			writeStatus(w, http.StatusOK, "ok", nil)
		}),
		"/readyz": getOnly(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := ready(ctx); err != nil {
				writeStatus(w, http.StatusServiceUnavailable, "unavailable", err)
				return
			}
			writeStatus(w, http.StatusOK, "ready", nil)
		}),
	}
}

func writeStatus(w http.ResponseWriter, code int, status string, err error) {
	body := map[string]string{"status": status}
	if err != nil {
		body["reason"] = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem.Write(w, r, problem.New(problem.KindMethodNotAllowed, "%s is not allowed here", r.Method))
			return
		}
		h(w, r)
	})
}
