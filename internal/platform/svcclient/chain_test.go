package svcclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/svcclient"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

// api mounts a one-route spec, GET <prefix>/<collection>/{id}.
func api(t *testing.T, name, collection string, h http.HandlerFunc) httpapi.API {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(fmt.Appendf(nil, `
openapi: 3.0.3
info: {title: %s, version: "1"}
paths:
  /%s/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      responses: {"200": {description: ok}, "503": {description: unavailable}}
`, name, collection))
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.API{Name: name, Prefix: "/" + name + "/v1", Spec: doc, Handler: h}
}

const thingID = "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b"

// twoServices is a process serving "caller" and "callee": the caller's one
// handler reads the database and asks the callee, through svcclient, over
// the network when network is set, else in-process.
func twoServices(t *testing.T, pool *pgxpool.Pool, network bool) http.Handler {
	t.Helper()
	var local svcclient.Local
	var server string
	var hc *http.Client
	callee := api(t, "callee", "things", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"thing":"yes"}`)
	})
	caller := api(t, "caller", "orders", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := pool.QueryRow(r.Context(), "-- name: CountOrders :one\nSELECT 1").Scan(&n); err != nil {
			problem.Write(w, r, err)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), "GET", server+"/things/"+thingID, nil)
		resp, err := hc.Do(req)
		if err != nil {
			problem.Write(w, r, svcclient.Unavailable(err))
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	root, err := httpapi.Root([]httpapi.API{caller, callee}, nil)
	if err != nil {
		t.Fatal(err)
	}
	local.Set(root)
	if network {
		srv := httptest.NewServer(root)
		t.Cleanup(srv.Close)
		server, hc = svcclient.New(srv.URL, "/callee/v1", nil, 5*time.Second)
	} else {
		server, hc = svcclient.New("", "/callee/v1", local.Handler, 5*time.Second)
	}
	return root
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// accessLines returns the access log lines written so far.
func (l *logBuffer) accessLines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func captureLogs(t *testing.T) *logBuffer {
	logs := &logBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(logs, nil)}))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return logs
}

// A request that reaches a second service through svcclient is one request
// in the logs (the callee's line carries the caller's request id) and one
// trace: the caller's server span, its database query and its outbound
// call as children, and the callee's server span under the outbound call.
func TestACallAcrossServicesIsOneRequestAndOneTrace(t *testing.T) {
	_, dbURL := dbtest.NewWithURL(t)
	for _, network := range []bool{false, true} {
		t.Run(map[bool]string{false: "in-process", true: "network"}[network], func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			defer tracing.Use(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))()
			pool, err := pg.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			logs := captureLogs(t)
			root := twoServices(t, pool, network)

			req := httptest.NewRequest("GET", "/caller/v1/orders/"+thingID, nil)
			req.Header.Set(httpapi.RequestIDHeader, "caller-req-7")
			w := httptest.NewRecorder()
			root.ServeHTTP(w, req)
			if w.Code != 200 || w.Body.String() != `{"thing":"yes"}` {
				t.Fatalf("%d %s", w.Code, w.Body)
			}

			lines := logs.accessLines(t)
			routes := map[string]map[string]any{}
			for _, l := range lines {
				routes[l["route"].(string)] = l
			}
			callerLine, calleeLine := routes["/caller/v1/orders/{id}"], routes["/callee/v1/things/{id}"]
			if len(lines) != 2 || callerLine == nil || calleeLine == nil {
				t.Fatalf("access lines: %v", lines)
			}
			for _, l := range lines {
				if l["request_id"] != "caller-req-7" {
					t.Errorf("%s logged request id %v", l["route"], l["request_id"])
				}
			}
			if callerLine["trace_id"] == nil || callerLine["trace_id"] != calleeLine["trace_id"] {
				t.Errorf("trace ids %v and %v", callerLine["trace_id"], calleeLine["trace_id"])
			}

			spans := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				spans[s.Name()] = s
			}
			server, db, call, callee := spans["GET /caller/v1/orders/{id}"], spans["CountOrders"], spans["GET callee"], spans["GET /callee/v1/things/{id}"]
			if server == nil || db == nil || call == nil || callee == nil {
				t.Fatalf("spans: %v", spans)
			}
			tid := server.SpanContext().TraceID()
			childOf := func(child, parent sdktrace.ReadOnlySpan) {
				t.Helper()
				if child.SpanContext().TraceID() != tid || child.Parent().SpanID() != parent.SpanContext().SpanID() {
					t.Errorf("%s (trace %s, parent %s) is not a child of %s", child.Name(), child.SpanContext().TraceID(),
						child.Parent().SpanID(), parent.Name())
				}
			}
			childOf(db, server)
			childOf(call, server)
			childOf(callee, call)
			if server.Parent().IsValid() || server.SpanKind() != trace.SpanKindServer || call.SpanKind() != trace.SpanKindClient ||
				callee.SpanKind() != trace.SpanKindServer || !callee.Parent().IsRemote() {
				t.Errorf("kinds: server %v (parent %v), call %v, callee %v", server.SpanKind(), server.Parent(), call.SpanKind(), callee.SpanKind())
			}
			if callerLine["trace_id"] != tid.String() {
				t.Errorf("logged trace id %v, span's %s", callerLine["trace_id"], tid)
			}
		})
	}
}
