package pg_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

func TestStatsCollectorReportsThePool(t *testing.T) {
	t.Parallel()
	_, dbURL := freshURL(t)
	ctx := context.Background()
	pool, err := pg.Open(ctx, dbURL, pg.MaxConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(pg.NewStatsCollector("main", pool), pg.NewStatsCollector("other", pool))

	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pool := range []string{"main", "other"} {
		if got := gathered(t, reg, "db_pool_acquired_connections", pool); got != 1 {
			t.Fatalf("acquired{pool=%s}: %v", pool, got)
		}
		if got := gathered(t, reg, "db_pool_max_connections", pool); got != 3 {
			t.Fatalf("max{pool=%s}: %v", pool, got)
		}
	}
	conn.Release()
	if got := gathered(t, reg, "db_pool_acquired_connections", "main"); got != 0 {
		t.Fatalf("acquired after release: %v", got)
	}
	if got := gathered(t, reg, "db_pool_idle_connections", "main"); got < 1 {
		t.Fatalf("idle: %v", got)
	}
	if got := gathered(t, reg, "db_pool_acquires_total", "main"); got < 2 { // Open's ping and ours
		t.Fatalf("acquires: %v", got)
	}
	if got := gathered(t, reg, "db_pool_acquire_duration_seconds_total", "main"); got <= 0 {
		t.Fatalf("acquire duration: %v", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
	}
	if series != 26 {
		t.Fatalf("%d series, want 13 per pool", series)
	}
}

func gathered(t *testing.T, g prometheus.Gatherer, name, pool string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == pool {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{pool=%q}", name, pool)
	return 0
}

// With tracing on, queries within a trace get a child span named after the
// sqlc query; queries outside one get none. Not parallel: tracing is
// process-wide.
func TestQueriesOfATracedRequestGetSpans(t *testing.T) {
	_, dbURL := dbtest.NewWithURL(t)
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	restore := tracing.Use(tp)
	pool, err := pg.Open(ctx, dbURL)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	var one int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans of an untraced query", n)
	}

	traced, parent := tp.Tracer("test").Start(ctx, "request")
	if err := pool.QueryRow(traced, "-- name: GetOne :one\nSELECT $1::int", 1).Scan(&one); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(traced, "SELECT 1/0"); err == nil {
		t.Fatal("division by zero succeeded")
	}
	parent.End()

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 queries and the request", len(spans))
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	get, failed := byName["GetOne"], byName["SELECT"]
	if get == nil || failed == nil {
		t.Fatalf("span names: %v", byName)
	}
	for _, s := range []sdktrace.ReadOnlySpan{get, failed} {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Fatalf("%s is not a child of the request's span", s.Name())
		}
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[string]string {
		m := map[string]string{}
		for _, a := range s.Attributes() {
			m[string(a.Key)] = a.Value.Emit()
		}
		return m
	}
	if a := attrs(get); a["db.system.name"] != "postgresql" || a["db.operation.name"] != "SELECT" ||
		!strings.Contains(a["db.query.text"], "SELECT $1::int") || get.Status().Code == codes.Error {
		t.Fatalf("GetOne: %v %v", a, get.Status())
	}
	if a := attrs(failed); a["db.response.status_code"] != "22012" || failed.Status().Code != codes.Error {
		t.Fatalf("failed query: %v %v", a, failed.Status())
	}
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if a.Value.Emit() == "1" && a.Key != "db.response.affected_rows" {
				t.Fatalf("an argument reached the span: %v", a)
			}
		}
	}
}

// Without tracing, Open sets no tracer: queries pay nothing.
func TestUntracedPoolsHaveNoTracer(t *testing.T) {
	t.Parallel()
	_, dbURL := freshURL(t)
	pool, err := pg.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if tr := pool.Config().ConnConfig.Tracer; tr != nil {
		t.Fatalf("tracer %T", tr)
	}
}
