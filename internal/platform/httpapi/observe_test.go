package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/saasplatform/saas/internal/platform/metrics"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

// obsSpec is a service of its own, "obs", so that its series are this
// file's alone.
const obsSpec = `
openapi: 3.0.3
info: {title: obs, version: "1"}
paths:
  /tenants/{tenant_id}:
    parameters:
      - {name: tenant_id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      parameters:
        - {name: verbose, in: query, schema: {type: boolean}}
      responses: {"200": {description: ok}}
  /logins:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [username, password]
              properties:
                username: {type: string, maxLength: 20}
                password: {type: string, minLength: 8}
      responses: {"200": {description: ok}}
  /boom:
    get:
      responses: {"500": {description: failed}}
  /slow:
    get:
      responses: {"200": {description: ok}}
`

const (
	tenantA = "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b"
	tenantB = "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6c"
)

// obsServer mounts obsSpec at /obs/v1 next to /metrics and /healthz. The
// handler of /slow waits for slow to be closed.
func obsServer(t testing.TB, slow <-chan struct{}) http.Handler {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(obsSpec))
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/obs/v1/boom":
			problem.Write(w, r, io.ErrUnexpectedEOF)
		case "/obs/v1/slow":
			<-slow
		case "/obs/v1/logins":
			SetPrincipal(r.Context(), "user-7")
			_, _ = io.WriteString(w, `{"ok":true}`)
		default:
			SetPrincipal(r.Context(), "user-7")
			_, _ = io.WriteString(w, `{"id":"x"}`)
		}
	})
	extra := Health(nil)
	delete(extra, "/readyz")
	extra["/metrics"] = metrics.Handler()
	root, err := Root([]API{{Name: "obs", Prefix: "/obs/v1", Spec: doc, Handler: h}}, extra)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := do(h, "GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestMetricsLabelRequestsByRouteTemplate(t *testing.T) {
	slow := make(chan struct{})
	h := obsServer(t, slow)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/obs/v1/tenants/" + tenantA, 200},
		{"GET", "/obs/v1/tenants/" + tenantB, 200},
		{"HEAD", "/obs/v1/tenants/" + tenantB, 200},
		{"GET", "/obs/v1/tenants/not-a-uuid", 400},
		{"DELETE", "/obs/v1/tenants/" + tenantA, 405},
		{"GET", "/obs/v1/nothing/here", 404},
		{"GET", "/obs/v1/boom", 500},
		{"GET", "/obs/v1/openapi.json", 200},
		{"GET", "/nothing/at/all", 404},
		{"GET", "/healthz", 200},
		{"PROPFIND", "/obs/v1/tenants/" + tenantA, 405},
	} {
		if rec := do(h, tc.method, tc.path, ""); rec.Code != tc.want {
			t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
	// One request in flight while scraping.
	done := make(chan struct{})
	go func() { defer close(done); do(h, "GET", "/obs/v1/slow", "") }()
	waitFor(t, func() bool { return strings.Contains(scrape(t, h), `http_requests_in_flight{service="obs"} 1`) })
	close(slow)
	<-done

	text := scrape(t, h)
	for _, want := range []string{
		`http_requests_total{code="2xx",method="GET",route="/obs/v1/tenants/{tenant_id}",service="obs"} 2`,
		`http_requests_total{code="2xx",method="HEAD",route="/obs/v1/tenants/{tenant_id}",service="obs"} 1`,
		`http_requests_total{code="4xx",method="GET",route="/obs/v1/tenants/{tenant_id}",service="obs"} 1`,
		`http_requests_total{code="4xx",method="DELETE",route="unmatched",service="obs"} 1`,
		`http_requests_total{code="4xx",method="OTHER",route="unmatched",service="obs"} 1`,
		`http_requests_total{code="4xx",method="GET",route="unmatched",service="obs"} 1`,
		`http_requests_total{code="5xx",method="GET",route="/obs/v1/boom",service="obs"} 1`,
		`http_requests_total{code="2xx",method="GET",route="/obs/v1/openapi.json",service="obs"} 1`,
		`http_requests_total{code="2xx",method="GET",route="/obs/v1/slow",service="obs"} 1`,
		`http_requests_total{code="2xx",method="GET",route="/healthz",service="none"}`,
		`http_requests_total{code="4xx",method="GET",route="unmatched",service="none"}`,
		`http_request_duration_seconds_count{code="2xx",method="GET",route="/obs/v1/tenants/{tenant_id}",service="obs"} 2`,
		`http_request_duration_seconds_count{code="4xx",method="GET",route="/obs/v1/tenants/{tenant_id}",service="obs"} 1`,
		`http_request_duration_seconds_bucket{code="2xx",method="GET",route="/obs/v1/tenants/{tenant_id}",service="obs",le="+Inf"} 2`,
		`http_requests_in_flight{service="obs"} 0`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	for _, raw := range []string{tenantA, tenantB, "not-a-uuid", "/nothing", "PROPFIND"} {
		if strings.Contains(text, raw) {
			t.Errorf("a raw path or method reached a label: %s", raw)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met")
}

// captureLogs sends the default logger's JSON lines (at debug level, through
// LogHandler as in production) to the returned buffer until the test ends.
func captureLogs(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(LogHandler{slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})}))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// accessLines are the access log lines logged so far.
func accessLines(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestTheAccessLogLineNamesRouteTenantAndPrincipal(t *testing.T) {
	logs := captureLogs(t)
	h := obsServer(t, nil)
	rec := do(h, "GET", "/obs/v1/tenants/"+tenantA+"?verbose=true", "", RequestIDHeader, "req-42")
	if rec.Code != 200 || rec.Header().Get(RequestIDHeader) != "req-42" {
		t.Fatal(rec.Code, rec.Header())
	}
	lines := accessLines(t, logs)
	if len(lines) != 1 {
		t.Fatalf("%d access lines: %s", len(lines), logs)
	}
	got := lines[0]
	want := map[string]any{
		"request_id": "req-42", "service": "obs", "method": "GET", "route": "/obs/v1/tenants/{tenant_id}",
		"status": float64(200), "bytes": float64(len(`{"id":"x"}`)), "tenant": tenantA, "principal": "user-7",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["latency_ms"].(float64); !ok {
		t.Errorf("latency_ms missing: %v", got)
	}
	for _, k := range []string{"path", "query", "url"} {
		if _, ok := got[k]; ok {
			t.Errorf("the raw %s is logged: %v", k, got)
		}
	}
	if n := strings.Count(logs.String(), `"request_id"`); n != 1 {
		t.Errorf("request_id appears %d times: %s", n, logs)
	}

	// A request that matches no route, or no valid tenant, names none.
	do(h, "GET", "/obs/v1/tenants/not-a-uuid", "")
	do(h, "GET", "/elsewhere", "")
	lines = accessLines(t, logs)
	if len(lines) != 3 {
		t.Fatalf("%d access lines", len(lines))
	}
	if l := lines[1]; l["route"] != "/obs/v1/tenants/{tenant_id}" || l["tenant"] != "" || l["status"] != float64(400) {
		t.Errorf("invalid tenant id: %v", l)
	}
	if l := lines[2]; l["route"] != Unmatched || l["service"] != NoService || l["status"] != float64(404) {
		t.Errorf("unmatched: %v", l)
	}
	if id, _ := lines[2]["request_id"].(string); len(id) != 32 {
		t.Errorf("a generated request id is logged: %v", lines[2])
	}
}

// Credentials travel in headers, bodies and (wrongly) query strings; none of
// them may reach the log, whatever the request's fate.
func TestNothingSecretIsLogged(t *testing.T) {
	logs := captureLogs(t)
	h := obsServer(t, nil)
	auth := []string{"Authorization", "Bearer secret-token", "Cookie", "session=secret-cookie"}
	for _, tc := range []struct {
		method, target, body string
		want                 int
	}{
		{"POST", "/obs/v1/logins", `{"username":"ann","password":"hunter2-password"}`, 200},
		{"POST", "/obs/v1/logins", `{"username":"ann","password":"hunter2-password","extra":1}`, 400},
		{"POST", "/obs/v1/logins", `{"username":"a-name-far-too-long-for-it","password":"hunter2-password"}`, 400},
		{"POST", "/obs/v1/logins", `{"username":"ann","password":"hunter2-password","password":"hunter2-password"}`, 400},
		{"GET", "/obs/v1/tenants/" + tenantA + "?password=hunter2-password", "", 400},
		{"GET", "/obs/v1/tenants/" + tenantA + "?verbose=hunter2-password", "", 400},
		{"GET", "/obs/v1/boom?token=hunter2-password", "", 400},
		{"GET", "/obs/v1/boom", "", 500},
		{"GET", "/obs/v1/hunter2-password", "", 404},
	} {
		if rec := do(h, tc.method, tc.target, tc.body, auth...); rec.Code != tc.want {
			t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.target, rec.Code, tc.want, rec.Body)
		}
	}
	out := logs.String()
	if n := len(accessLines(t, logs)); n != 9 {
		t.Fatalf("%d access lines, want 9: %s", n, out)
	}
	for _, secret := range []string{"secret-token", "secret-cookie", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q is logged:\n%s", secret, out)
		}
	}
}

// With tracing off, Root wraps nothing: an incoming trace context is not
// even read. With it on, the server span continues the caller's trace and
// is named after the route once the request has been routed.
func TestServerSpansAreNamedAfterTheRoute(t *testing.T) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var seen trace.SpanContext
	probe := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = trace.SpanContextFromContext(r.Context())
			h.ServeHTTP(w, r)
		})
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(obsSpec))
	if err != nil {
		t.Fatal(err)
	}
	api := API{Name: "obs", Prefix: "/obs/v1", Spec: doc, Handler: probe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))}

	off, err := Root([]API{api}, nil)
	if err != nil {
		t.Fatal(err)
	}
	do(off, "GET", "/obs/v1/tenants/"+tenantA, "", "traceparent", traceparent)
	if seen.IsValid() {
		t.Fatal("tracing is off, yet the handler runs in a span")
	}

	rec := tracetest.NewSpanRecorder()
	defer tracing.Use(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))()
	logs := captureLogs(t)
	doc2, _ := openapi3.NewLoader().LoadFromData([]byte(obsSpec))
	api.Spec = doc2
	on, err := Root([]API{api}, Health(nil))
	if err != nil {
		t.Fatal(err)
	}
	do(on, "GET", "/obs/v1/tenants/"+tenantA, "", "traceparent", traceparent)
	if !seen.IsValid() || seen.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("the handler's span %v does not continue the caller's trace", seen)
	}
	do(on, "GET", "/healthz", "")
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want the API request's only (probes are not traced)", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /obs/v1/tenants/{tenant_id}" || s.SpanKind() != trace.SpanKindServer ||
		s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span %q kind %v parent %v", s.Name(), s.SpanKind(), s.Parent())
	}
	attrs := map[string]string{}
	for _, a := range s.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["http.route"] != "/obs/v1/tenants/{tenant_id}" || attrs["saas.tenant_id"] != tenantA {
		t.Fatalf("attributes %v", attrs)
	}
	if !regexp.MustCompile(`"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`).MatchString(logs.String()) {
		t.Fatalf("the access log line lacks the trace id: %s", logs)
	}
}

// The cost of the chain (routing, validation, metrics, access log) around a
// trivial handler, without and with tracing: `go test -bench Root`.
func BenchmarkRoot(b *testing.B) {
	run := func(b *testing.B) {
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
		defer slog.SetDefault(prev)
		h := obsServer(b, nil)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			req := httptest.NewRequest("GET", "/obs/v1/tenants/"+tenantA, nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	b.Run("tracing=off", run)
	b.Run("tracing=on", func(b *testing.B) {
		defer tracing.Use(sdktrace.NewTracerProvider())() // spans are made, not exported
		run(b)
	})
}
