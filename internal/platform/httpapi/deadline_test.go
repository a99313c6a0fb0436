package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

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

// trickle is a request body that arrives a chunk at a time, pause apart, as
// from a client uploading slowly.
type trickle struct {
	chunks []string
	pause  time.Duration
	done   time.Time // when the last byte was read
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.chunks) == 0 {
		return 0, io.EOF
	}
	time.Sleep(t.pause)
	n := copy(p, t.chunks[0])
	if t.chunks[0] = t.chunks[0][n:]; t.chunks[0] == "" {
		t.chunks = t.chunks[1:]
		if len(t.chunks) == 0 {
			t.done = time.Now()
		}
	}
	return n, nil
}

// deadlineServer mounts testSpec behind withDeadline(d), as Root does with
// RequestTimeout; authorize and handler are the API's.
func deadlineServer(t *testing.T, d time.Duration, authorize func(http.ResponseWriter, *http.Request, *routers.Route, map[string]string) (*http.Request, bool), handler http.HandlerFunc) http.Handler {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	h, err := Mount(API{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: handler, Authorize: authorize})
	if err != nil {
		t.Fatal(err)
	}
	return withDeadline(d)(h)
}

func allowCaller(w http.ResponseWriter, r *http.Request, _ *routers.Route, _ map[string]string) (*http.Request, bool) {
	return r.WithContext(context.WithValue(r.Context(), authKey{}, "caller")), true
}

// The time a body takes to arrive does not count against the deadline: a
// body trickled in over longer than it reaches the handler with a live
// context (still carrying what Authorize put there) that has the whole
// budget left, and work that outlives that budget is still cut off with
// DeadlineExceeded, answered 503.
func TestSlowBodyLeavesTheWorkItsDeadline(t *testing.T) {
	const d = 300 * time.Millisecond
	var (
		entered, blocked   time.Time
		entryErr, finalErr error
		left               time.Duration
		who                string
	)
	h := deadlineServer(t, d, allowCaller, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		entered, entryErr = time.Now(), ctx.Err()
		deadline, _ := ctx.Deadline()
		left = deadline.Sub(entered)
		who, _ = ctx.Value(authKey{}).(string)
		<-ctx.Done() // a dependency that never answers
		blocked, finalErr = time.Now(), ctx.Err()
		problem.Write(w, r, ctx.Err())
	})
	body := &trickle{chunks: []string{`{"name":`, ` "slow`, `ly sent"}`}, pause: 250 * time.Millisecond}
	req := httptest.NewRequest("POST", "/test/v1/things", body)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)

	if body.done.Sub(start) <= d {
		t.Fatalf("the body took %s to arrive, want more than the deadline %s", body.done.Sub(start), d)
	}
	if entered.IsZero() || entryErr != nil {
		t.Fatalf("the handler was reached: %v, its context's error then: %v; want a live context (%d %s)", !entered.IsZero(), entryErr, rec.Code, rec.Body)
	}
	if left < d-100*time.Millisecond || left > d {
		t.Errorf("the handler had %s left, want about %s once the body was read", left, d)
	}
	if who != "caller" {
		t.Errorf("the handler's context carries caller %q, want what Authorize put there", who)
	}
	if !errors.Is(finalErr, context.DeadlineExceeded) || blocked.Sub(entered) < d-100*time.Millisecond {
		t.Errorf("the blocked handler's context ended with %v after %s, want DeadlineExceeded after about %s", finalErr, blocked.Sub(entered), d)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a handler that outlives its deadline: %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// A deadline the request arrives with (an in-process call carries its
// caller's) is not moved by the pause: the handler's context ends then, with
// DeadlineExceeded, however slowly the body came.
func TestSlowBodyKeepsTheCallersDeadline(t *testing.T) {
	var deadline time.Time
	var err error
	h := deadlineServer(t, time.Minute, allowCaller, func(w http.ResponseWriter, r *http.Request) {
		deadline, _ = r.Context().Deadline()
		<-r.Context().Done()
		err = r.Context().Err()
	})
	callerDeadline := time.Now().Add(400 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), callerDeadline)
	defer cancel()
	body := &trickle{chunks: []string{`{"name":`, ` "x"}`}, pause: 100 * time.Millisecond}
	req := httptest.NewRequestWithContext(ctx, "POST", "/test/v1/things", body)
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if !deadline.Equal(callerDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the handler's deadline %s and end %v, want the caller's %s and DeadlineExceeded", deadline, err, callerDeadline)
	}
}

// Once the body is read, the handler's context still ends when the client
// goes away, although it no longer derives from the server's.
func TestHandlerContextEndsWhenTheClientGoes(t *testing.T) {
	entered := make(chan struct{})
	result := make(chan error, 1)
	h := deadlineServer(t, time.Minute, allowCaller, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			result <- r.Context().Err()
		case <-time.After(5 * time.Second):
			result <- errors.New("still live 5 s after the client went away")
		}
	})
	client, leave := context.WithCancel(context.Background())
	defer leave()
	req := httptest.NewRequestWithContext(client, "POST", "/test/v1/things", strings.NewReader(`{"name": "x"}`))
	req.Header.Set("Content-Type", "application/json")
	go h.ServeHTTP(httptest.NewRecorder(), req)
	<-entered
	leave()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("the handler's context after the client went away: %v, want Canceled", err)
	}
}

// Before the body is read the deadline runs: an Authorize that hangs (on a
// frozen database, a service that does not answer) is cut off, and the time
// Authorize takes is the handler's no more, so that a request without a body
// is bounded by the deadline as a whole.
func TestDeadlineBoundsWorkBeforeTheBody(t *testing.T) {
	const d = 300 * time.Millisecond
	hung := func(w http.ResponseWriter, r *http.Request, _ *routers.Route, _ map[string]string) (*http.Request, bool) {
		<-r.Context().Done()
		problem.Write(w, r, r.Context().Err())
		return nil, false
	}
	h := deadlineServer(t, d, hung, func(w http.ResponseWriter, r *http.Request) { t.Error("the handler ran") })
	start := time.Now()
	rec := do(h, "POST", "/test/v1/things", `{"name": "x"}`)
	if took := time.Since(start); rec.Code != http.StatusServiceUnavailable || took > 2*time.Second {
		t.Errorf("a hung Authorize: %d after %s, want 503 after about %s: %s", rec.Code, took, d, rec.Body)
	}

	slow := func(w http.ResponseWriter, r *http.Request, route *routers.Route, params map[string]string) (*http.Request, bool) {
		time.Sleep(d / 2)
		return r, true
	}
	var left time.Duration
	h = deadlineServer(t, d, slow, func(w http.ResponseWriter, r *http.Request) {
		deadline, _ := r.Context().Deadline()
		left = time.Until(deadline)
	})
	if rec := do(h, "GET", "/test/v1/things", ""); rec.Code != http.StatusOK || left > d/2+50*time.Millisecond {
		t.Errorf("after an Authorize that took %s: %d, the handler had %s left, want at most about %s", d/2, rec.Code, left, d/2)
	}
}
