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
	h := Chain(cleanPathsOnly(mux), RequestID, observe(service), Recover, withDeadline(RequestTimeout))
	if tracing.Enabled() {
		// Probes, scrapes and docs pages are not worth a trace.
		h = otelhttp.NewHandler(h, "http.server", otelhttp.WithFilter(func(r *http.Request) bool {
			return service(r.URL.Path) != NoService
		}))
	}
	return h, nil
}

// RequestTimeout bounds the work of one request: its context ends then, so
// that database work (pool acquire, queries, a new connection) and calls to
// other services give up and the request is answered 503 problem+json
// instead of waiting without limit.
//
// It is the one bound that holds for a PostgreSQL that hangs without
// refusing (stopped, or stuck on I/O): the server's kernel still accepts
// connections and acknowledges what is sent, so TCP keepalive and
// tcp_user_timeout never fire, and a server-side statement_timeout is not
// enforced by a server that does not run. New connections are bounded by
// pg's connect timeout, everything else by this deadline: pgx closes a
// connection whose context ends mid-statement (its deadline handler), so
// neither requests nor connections pile up, and the pool makes fresh ones
// once the database answers again.
//
// In `make bench-load` the slowest scenario's p99 stays under 300 ms on a
// saturated 2-core machine, and a sign-in waits at most 2 s for a hashing
// slot, so 5 s cuts nothing but a stuck dependency, and is short enough
// for a client to retry (the answer is KindUnavailable's 503).
const RequestTimeout = 5 * time.Second

// withDeadline gives each request's context a deadline d from now.
func withDeadline(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
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
