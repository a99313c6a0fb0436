package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestIDIsAcceptedOrMade(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestIDFrom(r.Context()) }))
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123", true},
		{"", false},
		{"has space", false},
		{"line\nbreak", false},
		{strings.Repeat("x", 129), false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(RequestIDHeader, tc.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		echoed := rec.Header().Get(RequestIDHeader)
		if echoed != seen || echoed == "" {
			t.Fatalf("%q: echoed %q, context %q", tc.in, echoed, seen)
		}
		if (echoed == tc.in) != tc.keep {
			t.Fatalf("%q: kept=%v, want %v", tc.in, echoed == tc.in, tc.keep)
		}
	}
}

func TestRecoverAnswersAProblemAndLogsTheCause(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(LogHandler{slog.NewJSONHandler(&logs, nil)}))
	defer slog.SetDefault(prev)

	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internals") }), RequestID, observe(nil), Recover)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("the panic's text reached the client: %s", rec.Body)
	}
	id := rec.Header().Get(RequestIDHeader)
	if !strings.Contains(logs.String(), "secret internals") || !strings.Contains(logs.String(), id) {
		t.Fatalf("the log must carry the cause and the request id %s: %s", id, logs.String())
	}
	// The access log records the 500 too.
	var sawAccess bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		if m["msg"] == "request" && m["status"] == float64(500) {
			sawAccess = true
		}
	}
	if !sawAccess {
		t.Fatalf("no access log line with status 500: %s", logs.String())
	}
}

func TestRecoverKeepsAbortHandler(t *testing.T) {
	defer func() {
		if v := recover(); !errors.Is(v.(error), http.ErrAbortHandler) {
			t.Fatalf("recovered %v", v)
		}
	}()
	Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	t.Fatal("ErrAbortHandler must propagate")
}

func TestHealthAndReadiness(t *testing.T) {
	var notReady error
	h, err := Root(nil, Health(func(context.Context) error { return notReady }))
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	if r := get("GET", "/healthz"); r.Code != 200 {
		t.Fatal(r.Code)
	}
	if r := get("GET", "/readyz"); r.Code != 200 {
		t.Fatal(r.Code)
	}
	notReady = errors.New("database unreachable")
	if r := get("GET", "/readyz"); r.Code != 503 || !strings.Contains(r.Body.String(), "database unreachable") {
		t.Fatal(r.Code, r.Body.String())
	}
	if r := get("GET", "/healthz"); r.Code != 200 {
		t.Fatal("liveness must not depend on the database", r.Code)
	}
	if r := get("POST", "/healthz"); r.Code != 405 || r.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatal(r.Code, r.Header())
	}
	if r := get("GET", "/no/such/thing"); r.Code != 404 || r.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatal(r.Code, r.Header())
	}
}

// A panic after part of the answer went out cannot become a problem: the
// connection is cut, so the client sees a broken response, never a truncated
// body that passes for a success.
func TestRecoverAbortsAPartlyWrittenAnswer(t *testing.T) {
	srv := httptest.NewServer(Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"items":[`))
		w.(http.Flusher).Flush()
		panic("half way")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		return // the connection was cut before the headers were read: also a failure the client sees
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a truncated answer read as complete")
	}
}
