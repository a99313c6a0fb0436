package svcclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/svcclient"
)

const prefix = "/callee/v1"

// transports runs fn once over the network (an httptest server serving h)
// and once in-process.
func transports(t *testing.T, h http.Handler, timeout time.Duration, fn func(t *testing.T, server string, c *http.Client)) {
	t.Run("network", func(t *testing.T) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		server, c := svcclient.New(srv.URL+"/", prefix, nil, timeout)
		if server != srv.URL+prefix {
			t.Fatalf("server %q", server)
		}
		fn(t, server, c)
	})
	t.Run("in-process", func(t *testing.T) {
		server, c := svcclient.New("", prefix, func() http.Handler { return h }, timeout)
		if server != svcclient.LocalServer+prefix {
			t.Fatalf("server %q", server)
		}
		fn(t, server, c)
	})
}

// echo answers with what it received.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Answer", "yes")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "request_uri": r.RequestURI,
		"header": r.Header.Get("X-Test"), "body": string(b), "content_length": r.ContentLength,
	})
}

func TestAnAnswerIsAsOverTheNetwork(t *testing.T) {
	transports(t, http.HandlerFunc(echo), 5*time.Second, func(t *testing.T, server string, c *http.Client) {
		req, _ := http.NewRequest("POST", server+"/things?x=1", strings.NewReader(`{"a":1}`))
		req.Header.Set("X-Test", "passed")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 201 || resp.Status != "201 Created" || resp.Header.Get("X-Answer") != "yes" ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %v", resp.Status, resp.Header)
		}
		want := map[string]any{"method": "POST", "path": prefix + "/things", "query": "x=1", "request_uri": prefix + "/things?x=1",
			"header": "passed", "body": `{"a":1}`, "content_length": float64(7)}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %v, want %v", k, got[k], v)
			}
		}
	})
}

func TestHeadAndNoContentHaveNoBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == prefix+"/empty" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = io.WriteString(w, "some text")
	})
	transports(t, h, 5*time.Second, func(t *testing.T, server string, c *http.Client) {
		resp, err := c.Head(server + "/text")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("HEAD: %d %q %v", resp.StatusCode, b, resp.Header)
		}
		resp, err = c.Get(server + "/empty")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 204 || len(b) != 0 {
			t.Fatalf("204: %d %q", resp.StatusCode, b)
		}
	})
}

// A handler that calls the callee as part of serving a request: the callee
// sees the caller's request id.
func TestTheRequestIDIsPropagated(t *testing.T) {
	seen := make(chan string, 1)
	callee := httpapi.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- httpapi.RequestIDFrom(r.Context())
	}))
	transports(t, callee, 5*time.Second, func(t *testing.T, server string, c *http.Client) {
		caller := httpapi.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", server+"/x", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}))
		req := httptest.NewRequest("GET", "/caller", nil)
		req.Header.Set(httpapi.RequestIDHeader, "caller-request-1")
		caller.ServeHTTP(httptest.NewRecorder(), req)
		if got := <-seen; got != "caller-request-1" {
			t.Fatalf("the callee saw request id %q", got)
		}
		// The caller's own request is left as it was.
		if req.Header.Get(httpapi.RequestIDHeader) != "caller-request-1" {
			t.Fatal("the caller's request was changed")
		}
	})
}

func assertUnavailable(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !problem.Is(err, problem.KindUnavailable) {
		t.Fatalf("%v: not unavailable", err)
	}
	rec := httptest.NewRecorder()
	problem.Write(rec, httptest.NewRequest("GET", "/caller", nil), svcclient.Unavailable(err))
	var p problem.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != 503 || p.Detail != "callee is unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("answered %d %+v %v", rec.Code, p, rec.Header())
	}
}

func TestATimeoutIsUnavailable(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stopped := make(chan error, 2)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			stopped <- r.Context().Err()
		case <-release:
		}
	})
	transports(t, slow, 100*time.Millisecond, func(t *testing.T, server string, c *http.Client) {
		start := time.Now()
		_, err := c.Get(server + "/slow")
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %v", d)
		}
		assertUnavailable(t, err)
		select {
		case <-stopped: // the callee learnt that nobody waits any more
		case <-time.After(3 * time.Second):
			t.Fatal("the callee's request was not cancelled")
		}
	})
}

// The deadline covers reading the body too, not only the headers.
func TestATimeoutWhileReadingTheBodyIsUnavailable(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	server, c := svcclient.New(srv.URL, prefix, nil, 200*time.Millisecond)
	resp, err := c.Get(server + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	assertUnavailable(t, err)
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	server, c := svcclient.New("http://"+addr, prefix, nil, 2*time.Second)
	_, err = c.Get(server + "/x")
	assertUnavailable(t, err)
}

func TestANotYetServingProcessIsUnavailable(t *testing.T) {
	var local svcclient.Local
	server, c := svcclient.New("", prefix, local.Handler, time.Second)
	_, err := c.Get(server + "/x")
	assertUnavailable(t, err)

	local.Set(http.HandlerFunc(echo))
	resp, err := c.Get(server + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatal(resp.StatusCode)
	}
}

// A caller whose own request ends stops waiting at once; that is not the
// callee's fault.
func TestTheCallersCancellationEndsTheCall(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	transports(t, slow, time.Minute, func(t *testing.T, server string, c *http.Client) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", server+"/slow", nil)
		start := time.Now()
		_, err := c.Do(req)
		if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
			t.Fatalf("%v after %v", err, time.Since(start))
		}
		if problem.Is(err, problem.KindUnavailable) && strings.Contains(err.Error(), "callee is unavailable") {
			t.Fatal("the caller's own cancellation blamed on the callee")
		}
	})
}

type ctxKey struct{}

// In-process, nothing of the caller's context but its deadline crosses: a
// principal or a span in it must not reach the callee without the headers
// that would carry them over the network.
func TestInProcessCallsCarryNoContextValues(t *testing.T) {
	type seen struct {
		value       any
		hasDeadline bool
	}
	got := make(chan seen, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Deadline()
		got <- seen{r.Context().Value(ctxKey{}), ok}
	})
	server, c := svcclient.New("", prefix, func() http.Handler { return h }, time.Second)
	req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), ctxKey{}, "caller's secret"), "GET", server+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; s.value != nil || !s.hasDeadline {
		t.Fatalf("callee saw value %v, deadline %v", s.value, s.hasDeadline)
	}
}

// A panic that escapes the handler fails the call, not the process.
func TestAnEscapedPanicFailsTheCall(t *testing.T) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	server, c := svcclient.New("", prefix, func() http.Handler { return h }, time.Second)
	_, err := c.Get(server + "/x")
	assertUnavailable(t, err)
}

// With tracing off, the transport is not wrapped: a span in the caller's
// context (of a provider that is not the process's) does not travel.
func TestWithoutTracingNoTraceContextIsSent(t *testing.T) {
	got := make(chan string, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("Traceparent") })
	ctx, span := sdktrace.NewTracerProvider().Tracer("test").Start(context.Background(), "caller")
	defer span.End()
	transports(t, h, time.Second, func(t *testing.T, server string, c *http.Client) {
		req, _ := http.NewRequestWithContext(ctx, "GET", server+"/x", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tp := <-got; tp != "" {
			t.Fatalf("traceparent %q sent with tracing off", tp)
		}
	})
}

// The cost of one call through each transport (a trivial handler).
func BenchmarkCall(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) })
	srv := httptest.NewServer(h)
	defer srv.Close()
	for name, base := range map[string]string{"in-process": "", "network": srv.URL} {
		b.Run(name, func(b *testing.B) {
			server, c := svcclient.New(base, prefix, func() http.Handler { return h }, 5*time.Second)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Get(server + "/x")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
