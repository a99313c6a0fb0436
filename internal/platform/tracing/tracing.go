// Package tracing turns OpenTelemetry tracing on for the process when an OTLP
// endpoint is configured, and tells the rest of the platform whether it is on:
// httpapi.Root, svcclient.New and pg.Open consult Enabled when they build
// their handler, transport or pool, so that with tracing off nothing is
// wrapped and no request pays for it.
package tracing

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// EndpointVars are the environment variables that turn tracing on. The OTLP
// exporter reads them (and the other standard OTEL_EXPORTER_OTLP_* variables,
// such as headers and timeouts) itself.
var EndpointVars = []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const ServiceName = "saas"

// ServicesAttribute lists the platform services the process serves.
const ServicesAttribute = attribute.Key("saas.services")

var enabled atomic.Bool

// Enabled reports whether tracing is on. It is read when handlers, transports
// and pools are built, so Start must run before them.
func Enabled() bool { return enabled.Load() }

// Configured reports whether the environment asks for tracing.
func Configured() bool {
	for _, v := range EndpointVars {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// Start turns tracing on when Configured: an SDK tracer provider batching
// spans to the OTLP/HTTP exporter, with service.name "saas" and the services
// served as saas.services, and W3C Trace Context propagation (no Baggage:
// nothing reads it, and a public client's baggage would travel to every
// service a request reaches).
// The sampler follows OTEL_TRACES_SAMPLER (default: parent-based, always on).
// shutdown flushes the spans still buffered and turns tracing off again; call
// it once on exit. When tracing is not configured, Start does nothing and
// shutdown is a no-op.
func Start(ctx context.Context, services []string) (shutdown func(context.Context) error, err error) {
	if !Configured() {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(ServiceName), ServicesAttribute.String(strings.Join(services, ","))),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	prevHandler := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		slog.Warn("tracing", "error", err.Error())
	}))
	restore := Use(tp)
	return func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		restore()
		otel.SetErrorHandler(prevHandler)
		return err
	}, nil
}

// Use makes tp the process's tracer provider, propagates W3C Trace Context
// and turns tracing on; restore puts back what was there before.
// Start calls it; tests call it with an in-memory span recorder.
func Use(tp trace.TracerProvider) (restore func()) {
	prevTP, prevProp, prevOn := otel.GetTracerProvider(), otel.GetTextMapPropagator(), enabled.Load()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	enabled.Store(true)
	return func() {
		enabled.Store(prevOn)
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	}
}
