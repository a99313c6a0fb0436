package httpapi

import (
	"context"
	"encoding/json"
	"errors"
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

// RequestTimeout bounds the work of one request, not counting the time its
// body takes to arrive: its context ends then, so that database work (pool
// acquire, queries, a new connection) and calls to other services give up
// and the request is answered 503 problem+json instead of waiting without
// limit.
//
// The clock starts with the request, so that routing and API.Authorize
// (which may fetch signing keys, ask another service or the database) are
// bounded too, and stops while Mount reads the body (see extendDeadline): a
// client uploading a large body slowly (content items take up to 4 MiB) is
// not the server being slow, and must not leave the work its request asks
// for no time. Reading the body is bounded by the http.Server's ReadTimeout
// instead (30 s in cmd/saas). Routes outside the APIs (health, metrics,
// docs, 404s) read no body: their deadline stays RequestTimeout from the
// start.
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

// minPause is the shortest body read extendDeadline gives back.
const minPause = time.Millisecond

// budgetKey holds the *budget withDeadline gave a request.
const budgetKey ctxKey = infoKey + 1

// budget is what extendDeadline needs from withDeadline.
type budget struct {
	client   context.Context // the context before the deadline: it ends when the client goes away
	deadline time.Time
}

// withDeadline gives each request's context a deadline d from now.
func withDeadline(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := &budget{client: r.Context(), deadline: time.Now().Add(d)}
			ctx, cancel := context.WithDeadline(context.WithValue(r.Context(), budgetKey, b), b.deadline)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// extendDeadline moves the deadline withDeadline gave r later by paused, the
// time Mount spent reading the body. That deadline may have passed during
// the read, and a context cannot be revived, so r is served on with a new
// one: r's values (the request id, the caller Authorize added), the moved
// deadline (already past if the budget was spent before the read: then its
// Err is DeadlineExceeded at once, as before), and cancelled, as r's was,
// when the client goes away. Call the returned func when done. Outside Root
// (no withDeadline) r is returned as it is, and so it is after a read
// shorter than minPause (every request without a body): three contexts and
// a timer per request are not worth a millisecond of budget.
func extendDeadline(r *http.Request, paused time.Duration) (*http.Request, context.CancelFunc) {
	b, _ := r.Context().Value(budgetKey).(*budget)
	if b == nil || paused < minPause || b.client.Err() != nil {
		return r, func() {} // r's context has no deadline, or has ended for good
	}
	deadline := b.deadline.Add(paused)
	if d, ok := b.client.Deadline(); ok && d.Before(deadline) {
		// A caller's own deadline (an in-process call carries its caller's)
		// still holds: WithoutCancel drops it with the cancellation.
		deadline = d
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
	stop := context.AfterFunc(b.client, func() {
		// The caller's deadline passing is this context's own deadline (it
		// is capped to it), whose timer says DeadlineExceeded; anything else
		// ending the caller's context is the client going away.
		if !errors.Is(b.client.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return r.WithContext(ctx), func() { stop(); cancel() }
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
