package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Every request Root serves carries a deadline of RequestTimeout, and work
// that outlives it (here: a dependency that never answers) is answered 503
// problem+json.
func TestRootGivesRequestsADeadline(t *testing.T) {
	var deadline time.Time
	var ok bool
	h, err := Root(nil, map[string]http.Handler{"/probe": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	})})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/probe", nil))
	if !ok || deadline.Before(start.Add(RequestTimeout-time.Second)) || deadline.After(time.Now().Add(RequestTimeout)) {
		t.Errorf("the request's deadline: %v (set %v), want about %s from its start", deadline.Sub(start), ok, RequestTimeout)
	}

	hung := withDeadline(50 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // as pgx does on a connection to a frozen server
		problem.Write(w, r, r.Context().Err())
	}))
	rec := httptest.NewRecorder()
	start = time.Now()
	hung.ServeHTTP(rec, httptest.NewRequest("GET", "/hung", nil))
	var p problem.Problem
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != 503 {
		t.Errorf("a request whose dependency hangs: %d %s %s, want 503 problem+json", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %s, want about 50 ms", took)
	}
}
