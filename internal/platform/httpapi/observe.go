package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/saasplatform/saas/internal/platform/metrics"
)

// Unmatched is the route of a request that matched no route of any API
// (and of the service "none" when it is under no API's prefix either).
const (
	Unmatched = "unmatched"
	NoService = "none"
)

// requestInfo is what the platform learns about a request while serving it.
// observe puts one in the context; Mount fills in the route and the tenant,
// authentication the principal; the metrics, the access log and the trace
// span read it once the request is done. Handlers run in the request's
// goroutine, so no lock is needed.
type requestInfo struct {
	service   string // the API whose prefix the path is under, or NoService
	route     string // the spec's path template under the prefix, or an extra route's pattern
	tenant    string // the validated tenant_id path parameter, if the route has one
	principal string
}

const infoKey ctxKey = requestIDKey + 1

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey).(*requestInfo)
	return info
}

// SetPrincipal records who made the request, for its access log line. The
// authentication middleware calls it once it has verified a token; outside a
// request served by Root it does nothing.
func SetPrincipal(ctx context.Context, id string) {
	if info := infoFrom(ctx); info != nil {
		info.principal = id
	}
}

// setRoute records the route a request matched.
func setRoute(ctx context.Context, route string) {
	if info := infoFrom(ctx); info != nil {
		info.route = route
	}
}

var (
	httpRequests = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests answered, by service, route template, method and status class (2xx, 4xx, ...).",
	}, []string{"service", "route", "method", "code"})
	httpDuration = metrics.Factory.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time from receiving a request to the end of its answer, by service, route template, method and status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"service", "route", "method", "code"})
	httpInFlight = metrics.Factory.NewGaugeVec(prometheus.GaugeOpts{
		Name: "http_requests_in_flight",
		Help: "Requests being served, by service.",
	}, []string{"service"})
)

// observe puts a requestInfo in the context and, once the request has been
// served, counts it, names its trace span after its route and writes its
// access log line. serviceOf names the service a path belongs to before
// routing (nil: every path belongs to NoService). Labels and log fields come
// from the route template, never the raw path, so that neither the series
// nor the log carry ids or whatever a client put in a URL; the log never
// carries headers, the query string or bodies either.
func observe(serviceOf func(path string) string) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &requestInfo{service: NoService, route: Unmatched}
			if serviceOf != nil {
				info.service = serviceOf(r.URL.Path)
			}
			inFlight := httpInFlight.WithLabelValues(info.service)
			inFlight.Inc()
			defer inFlight.Dec()
			rec := record(w)
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey, info)))

			elapsed := time.Since(start)
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			// A client that went away is not a server error, whatever was
			// answered to nobody: count it as nginx does, 499.
			if status >= 500 && errors.Is(r.Context().Err(), context.Canceled) {
				status = statusClientClosed
			}
			method := methodLabel(r.Method)
			code := statusClass(status)
			httpRequests.WithLabelValues(info.service, info.route, method, code).Inc()
			httpDuration.WithLabelValues(info.service, info.route, method, code).Observe(elapsed.Seconds())
			if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
				nameSpan(span, method, info)
			}
			slog.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", RequestIDFrom(r.Context())),
				slog.String("service", info.service),
				slog.String("method", method),
				slog.String("route", info.route),
				slog.Int("status", status),
				slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", rec.bytes),
				slog.String("tenant", info.tenant),
				slog.String("principal", info.principal),
			)
		})
	}
}

// statusClientClosed is nginx's status for a request whose client left first.
const statusClientClosed = 499

// nameSpan names the server span after the route, known only now that the
// request has been routed ("GET /config-vault/v1/tenants/{tenant_id}").
func nameSpan(span trace.Span, method string, info *requestInfo) {
	if info.route == Unmatched {
		span.SetName(method)
		return
	}
	span.SetName(method + " " + info.route)
	span.SetAttributes(semconv.HTTPRoute(info.route), attribute.String("saas.service", info.service))
	if info.tenant != "" {
		span.SetAttributes(attribute.String("saas.tenant_id", info.tenant))
	}
}

// methodLabel keeps the method label's values few: a client can send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return statusClasses[code/100-1]
}

// serviceOf names the API whose prefix a path is under, or NoService.
func serviceOf(apis []API) func(string) string {
	return func(path string) string {
		for _, a := range apis {
			if rest, ok := strings.CutPrefix(path, a.Prefix); ok && (rest == "" || rest[0] == '/') {
				return a.Name
			}
		}
		return NoService
	}
}
