package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/platform/metrics"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

// tracingEnvErrors checks the OpenTelemetry variables the binary documents:
// a mistyped endpoint should stop the start, not lose every span quietly.
func tracingEnvErrors() []error {
	var errs []error
	for _, name := range tracing.EndpointVars {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q: want an http(s) URL such as http://otel-collector:4318", name, v))
		}
	}
	if v := os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); v != "" && v != "http/protobuf" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: only http/protobuf is supported", v))
	}
	return errs
}

// startTracing turns tracing on when an OTLP endpoint is configured, before
// the pool, the clients and the handler are built (they check once whether
// tracing is on). stop flushes the spans still buffered.
func startTracing(ctx context.Context, selected []app.Service) (stop func(), err error) {
	names := app.Names(selected)
	shutdown, err := tracing.Start(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if tracing.Enabled() {
		slog.Info("tracing on", "services", names)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			slog.Warn("flushing traces failed", "error", err.Error())
		}
	}, nil
}

// observePool publishes the pool's statistics on /metrics until stop.
func observePool(pool *pgxpool.Pool) (stop func(), err error) {
	c := pg.NewStatsCollector("main", pool)
	if err := metrics.Registry.Register(c); err != nil {
		return nil, err
	}
	return func() { metrics.Registry.Unregister(c) }, nil
}
