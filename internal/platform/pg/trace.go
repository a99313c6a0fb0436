package pg

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer makes a client span of every query run on behalf of a traced
// request. Open sets it on the pool only when tracing is on. Queries outside
// a trace (migrations, background jobs, readiness probes) make no span: a
// root span per probe query would be noise. The span carries the SQL text,
// which is the application's own (sqlc's, with placeholders), never the
// arguments.
type queryTracer struct {
	tracer   trace.Tracer
	database string
	server   []attribute.KeyValue
}

func newQueryTracer(cfg pgconn.Config) *queryTracer {
	return &queryTracer{
		tracer:   otel.Tracer("github.com/saasplatform/saas/internal/platform/pg"),
		database: cfg.Database,
		server:   []attribute.KeyValue{semconv.ServerAddress(cfg.Host), semconv.ServerPort(int(cfg.Port))},
	}
}

// maxQueryText bounds the SQL recorded on a span.
const maxQueryText = 2048

func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	name, op := queryName(data.SQL)
	text := data.SQL
	if len(text) > maxQueryText {
		text = text[:maxQueryText]
	}
	attrs := append([]attribute.KeyValue{
		semconv.DBSystemNamePostgreSQL,
		semconv.DBNamespace(t.database),
		semconv.DBOperationName(op),
		semconv.DBQueryText(text),
	}, t.server...)
	ctx, _ = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if data.Err != nil {
		var pgErr *pgconn.PgError
		if errors.As(data.Err, &pgErr) {
			span.SetAttributes(semconv.DBResponseStatusCode(pgErr.Code))
		}
		span.RecordError(data.Err)
		span.SetStatus(codes.Error, "query failed")
	} else {
		span.SetAttributes(attribute.Int64("db.response.affected_rows", data.CommandTag.RowsAffected()))
	}
	span.End()
}

// queryName names a query's span: sqlc's query name ("-- name: GetTenant
// :one") when there is one, else the statement's first word. op is that
// first word, upper-cased.
func queryName(sql string) (name, op string) {
	s := strings.TrimSpace(sql)
	if rest, ok := strings.CutPrefix(s, "-- name: "); ok {
		line, body, _ := strings.Cut(rest, "\n")
		name, _, _ = strings.Cut(line, " ")
		s = strings.TrimSpace(body)
	}
	op, _, _ = strings.Cut(s, " ")
	op = strings.ToUpper(strings.TrimRight(op, ";\n\t("))
	if name == "" {
		name = op
	}
	if name == "" {
		name = "query"
	}
	return name, op
}
