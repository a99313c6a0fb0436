package idempotency_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// fixture is a server running handler behind the middleware. The caller's
// scope is the X-Subject header, standing in for the token's subject.
type fixture struct {
	pool  *pgxpool.Pool
	mw    *idempotency.Middleware
	srv   *httptest.Server
	calls atomic.Int64
}

// creator answers like a create operation: 201, Location, ETag, JSON body
// with the call number and the body it read, plus a header that belongs to
// this response only.
func (f *fixture) creator(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", fmt.Sprintf("/things/%d", n))
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, n))
	w.Header().Set("X-Request-Id", fmt.Sprint(time.Now().UnixNano()))
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"n": n, "got": string(body)})
}

func newFixture(t *testing.T, opts idempotency.Options, handler func(f *fixture, w http.ResponseWriter, r *http.Request)) *fixture {
	t.Helper()
	f := &fixture{pool: dbtest.New(t, idempotency.Migrations)}
	if handler == nil {
		handler = (*fixture).creator
	}
	f.mw = idempotency.New(f.pool, func(r *http.Request) string {
		if s := r.Header.Get("X-Subject"); s != "" {
			return s
		}
		return "anonymous"
	}, opts)
	inner := f.mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler(f, w, r) }))
	// Like the real chain, a recover middleware sits outside.
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				problem.Write(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type call struct {
	method, path, subject, body string
	keys                        []string
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) replayed() bool { return a.header.Get(idempotency.ReplayedHeader) == "true" }

func (f *fixture) do(t *testing.T, c call) answer {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.path == "" {
		c.path = "/things"
	}
	req, err := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Error(err)
		return answer{header: http.Header{}}
	}
	for _, k := range c.keys {
		req.Header.Add(idempotency.Header, k)
	}
	if c.subject != "" {
		req.Header.Set("X-Subject", c.subject)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Error(err) // not Fatal: do also runs on goroutines of its own
		return answer{header: http.Header{}}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.idempotency_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func post(key, body string) call { return call{keys: []string{key}, body: body} }

func TestFirstAnswerIsStoredAndReplayed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, nil)
	first := f.do(t, post("k1", `{"name":"a"}`))
	if first.status != http.StatusCreated || first.replayed() {
		t.Fatalf("first call: %d replayed=%v %s", first.status, first.replayed(), first.body)
	}
	again := f.do(t, post("k1", `{"name":"a"}`))
	if !again.replayed() {
		t.Error("second call lacks Idempotent-Replayed: true")
	}
	if again.status != first.status || again.body != first.body {
		t.Errorf("replay %d %q, want %d %q", again.status, again.body, first.status, first.body)
	}
	for _, h := range []string{"Content-Type", "Location", "ETag"} {
		if again.header.Get(h) != first.header.Get(h) {
			t.Errorf("replayed %s = %q, want %q", h, again.header.Get(h), first.header.Get(h))
		}
	}
	if again.header.Get("X-Request-Id") != "" {
		t.Error("a per-response header was replayed")
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestKeyReusedForAnotherRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, nil)
	f.do(t, post("k", `{"name":"a"}`))
	tests := []struct {
		name string
		c    call
	}{
		{"other body", post("k", `{"name":"b"}`)},
		{"other path", call{path: "/others", keys: []string{"k"}, body: `{"name":"a"}`}},
		{"other query", call{path: "/things?dry_run=true", keys: []string{"k"}, body: `{"name":"a"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, tt.c)
			if a.status != http.StatusUnprocessableEntity || a.header.Get("Content-Type") != problem.ContentType {
				t.Errorf("got %d %s %s, want a 422 problem", a.status, a.header.Get("Content-Type"), a.body)
			}
			if !strings.Contains(a.body, "reused with a different request") {
				t.Errorf("detail does not explain: %s", a.body)
			}
		})
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestRepetitionWhileInFlightIsRefused(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	enter, unblock := sync.OnceFunc(func() { close(entered) }), sync.OnceFunc(func() { close(release) })
	f := newFixture(t, idempotency.Options{}, func(f *fixture, w http.ResponseWriter, r *http.Request) {
		if f.calls.Load() == 0 {
			enter()
			<-release
		}
		f.creator(w, r)
	})
	t.Cleanup(unblock) // runs before the server's Close, which waits for handlers
	firstDone := make(chan answer)
	go func() { firstDone <- f.do(t, post("slow", "x")) }()
	<-entered

	var wg sync.WaitGroup
	answers := make(chan answer, 5)
	for range 5 {
		wg.Go(func() { answers <- f.do(t, post("slow", "x")) })
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.status != http.StatusConflict || a.header.Get("Retry-After") != "1" {
			t.Errorf("repetition in flight: %d Retry-After=%q %s, want 409 with Retry-After: 1",
				a.status, a.header.Get("Retry-After"), a.body)
		}
	}
	unblock()
	if first := <-firstDone; first.status != http.StatusCreated || first.replayed() {
		t.Errorf("first call: %d replayed=%v", first.status, first.replayed())
	}
	if a := f.do(t, post("slow", "x")); a.status != http.StatusCreated || !a.replayed() {
		t.Errorf("after completion: %d replayed=%v, want a replayed 201", a.status, a.replayed())
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// TestSimultaneousFirstCalls races fresh requests for one key: exactly one
// may run the handler, whatever the interleaving.
func TestSimultaneousFirstCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, func(f *fixture, w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		f.creator(w, r)
	})
	start := make(chan struct{})
	var wg sync.WaitGroup
	answers := make(chan answer, 8)
	for range 8 {
		wg.Go(func() {
			<-start
			answers <- f.do(t, post("race", "x"))
		})
	}
	close(start)
	wg.Wait()
	close(answers)
	fresh := 0
	for a := range answers {
		switch {
		case a.status == http.StatusCreated && !a.replayed():
			fresh++
		case a.status == http.StatusConflict, a.status == http.StatusCreated && a.replayed():
		default:
			t.Errorf("unexpected answer %d %s", a.status, a.body)
		}
	}
	if fresh != 1 || f.calls.Load() != 1 {
		t.Errorf("%d fresh 201s and %d handler runs, want 1 and 1", fresh, f.calls.Load())
	}
}

func TestScopesAreIndependent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, nil)
	alice := f.do(t, call{subject: "alice", keys: []string{"same"}, body: "x"})
	bob := f.do(t, call{subject: "bob", keys: []string{"same"}, body: "x"})
	if alice.replayed() || bob.replayed() || alice.body == bob.body {
		t.Errorf("bob got alice's answer: %s / %s", alice.body, bob.body)
	}
	if again := f.do(t, call{subject: "alice", keys: []string{"same"}, body: "x"}); again.body != alice.body {
		t.Errorf("alice's replay %s, want %s", again.body, alice.body)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}
}

func TestWhichAnswersAreStored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int // 0: the handler panics
		stored     bool
		retryAfter bool
	}{
		{"201 created", http.StatusCreated, true, false},
		{"200 without an explicit status", http.StatusOK, true, false},
		{"400 invalid", http.StatusBadRequest, true, false},
		{"409 conflict", http.StatusConflict, true, false},
		{"409 lost a race: retry", http.StatusConflict, false, true},
		{"429 rate limited", http.StatusTooManyRequests, false, false},
		{"500 internal", http.StatusInternalServerError, false, false},
		{"503 unavailable", http.StatusServiceUnavailable, false, false},
		{"panic", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, idempotency.Options{}, func(f *fixture, w http.ResponseWriter, r *http.Request) {
				n := f.calls.Add(1)
				switch tt.status {
				case 0:
					panic("handler failed")
				case http.StatusOK:
				default:
					if tt.retryAfter {
						w.Header().Set("Retry-After", "1")
					}
					w.WriteHeader(tt.status)
				}
				fmt.Fprintf(w, "call %d", n)
			})
			first := f.do(t, post("k", "x"))
			wantStatus := tt.status
			if tt.status == 0 {
				wantStatus = http.StatusInternalServerError
			}
			if first.status != wantStatus {
				t.Fatalf("first call: %d, want %d", first.status, wantStatus)
			}
			second := f.do(t, post("k", "x"))
			if second.replayed() != tt.stored {
				t.Errorf("second call replayed=%v, want %v", second.replayed(), tt.stored)
			}
			wantCalls := int64(2)
			if tt.stored {
				wantCalls = 1
				if second.status != first.status || second.body != first.body {
					t.Errorf("replay %d %q, want %d %q", second.status, second.body, first.status, first.body)
				}
			}
			if n := f.calls.Load(); n != wantCalls {
				t.Errorf("handler ran %d times, want %d", n, wantCalls)
			}
		})
	}
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, nil)
	tests := []struct {
		name  string
		keys  []string
		valid bool
	}{
		{"uuid", []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, true},
		{"255 characters", []string{strings.Repeat("k", 255)}, true},
		{"inner space and punctuation", []string{`a b~!"{}`}, true},
		{"empty", []string{""}, false},
		{"256 characters", []string{strings.Repeat("k", 256)}, false},
		{"control character (tab)", []string{"a\tb"}, false},
		{"non-ASCII", []string{"schlüssel"}, false},
		{"two values", []string{"a", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.calls.Load()
			a := f.do(t, call{keys: tt.keys, body: "x"})
			if tt.valid {
				if a.status != http.StatusCreated {
					t.Errorf("got %d %s, want 201", a.status, a.body)
				}
				return
			}
			var p problem.Problem
			if err := json.Unmarshal([]byte(a.body), &p); err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "header.Idempotency-Key" {
				t.Errorf("got %d %s, want a 400 naming header.Idempotency-Key", a.status, a.body)
			}
			if f.calls.Load() != before {
				t.Error("the handler ran for an invalid key")
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{MaxBody: 16}, nil)
	tests := []struct {
		name   string
		c      call
		status int
	}{
		{"at the limit", post("a", strings.Repeat("x", 16)), http.StatusCreated},
		{"over the limit", post("b", strings.Repeat("x", 17)), http.StatusRequestEntityTooLarge},
		{"no key: not read by the middleware", call{body: strings.Repeat("x", 100)}, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, tt.c)
			if a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
			if a.status == http.StatusCreated && !strings.Contains(a.body, `"got":"`+tt.c.body+`"`) {
				t.Errorf("the handler did not get the whole body: %s", a.body)
			}
		})
	}
}

func TestPassThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{}, nil)
	for _, c := range []call{
		{body: "x"},
		{body: "x"},
		{method: http.MethodPut, keys: []string{"k"}, body: "x"},
		{method: http.MethodPut, keys: []string{"k"}, body: "x"},
	} {
		if a := f.do(t, c); a.replayed() || a.status != http.StatusCreated {
			t.Errorf("%s keys=%v: %d replayed=%v", c.method, c.keys, a.status, a.replayed())
		}
	}
	if n := f.calls.Load(); n != 4 {
		t.Errorf("handler ran %d times, want 4", n)
	}
	if n := f.rows(t); n != 0 {
		t.Errorf("%d rows stored for requests the middleware must ignore", n)
	}
}

// TestAbandonedRequestIsTakenOver plays a worker that stops answering: after
// its lease the key is taken over, and the stalled worker, when it finally
// finishes, cannot overwrite its successor's answer.
func TestAbandonedRequestIsTakenOver(t *testing.T) {
	t.Parallel()
	stalled, resume := make(chan struct{}), make(chan struct{})
	stall, unblock := sync.OnceFunc(func() { close(stalled) }), sync.OnceFunc(func() { close(resume) })
	f := newFixture(t, idempotency.Options{Lease: 300 * time.Millisecond}, func(f *fixture, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Stall") != "" {
			stall()
			<-resume
		}
		f.creator(w, r)
	})
	t.Cleanup(unblock) // runs before the server's Close, which waits for handlers
	stalledDone := make(chan struct{})
	go func() {
		defer close(stalledDone)
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/things", strings.NewReader("x"))
		req.Header.Set(idempotency.Header, "k")
		req.Header.Set("X-Stall", "1")
		if resp, err := f.srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-stalled

	if a := f.do(t, post("k", "x")); a.status != http.StatusConflict {
		t.Errorf("within the lease: %d, want 409", a.status)
	}
	time.Sleep(400 * time.Millisecond)
	if a := f.do(t, post("k", "other")); a.status != http.StatusUnprocessableEntity {
		t.Errorf("expired lease, other body: %d, want 422", a.status)
	}
	successor := f.do(t, post("k", "x"))
	if successor.status != http.StatusCreated || successor.replayed() {
		t.Fatalf("after the lease: %d replayed=%v, want a fresh 201", successor.status, successor.replayed())
	}
	unblock()
	<-stalledDone
	if a := f.do(t, post("k", "x")); a.body != successor.body {
		t.Errorf("replay %s, want the successor's %s", a.body, successor.body)
	}
}

func TestRetentionAndPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, idempotency.Options{Retention: time.Hour}, nil)
	ctx := context.Background()
	f.do(t, post("old", "x"))
	f.do(t, post("new", "x"))
	age := func(key string) {
		if _, err := f.pool.Exec(ctx, `UPDATE platform.idempotency_keys SET created_at = now() - interval '2 hours' WHERE key = $1`, key); err != nil {
			t.Fatal(err)
		}
	}
	age("old")
	// Past retention the record no longer counts, even for another body.
	if a := f.do(t, post("old", "y")); a.status != http.StatusCreated || a.replayed() {
		t.Errorf("expired key: %d replayed=%v, want a fresh 201", a.status, a.replayed())
	}
	age("old")
	n, err := f.mw.Purge(ctx)
	if err != nil || n != 1 {
		t.Errorf("Purge = %d, %v; want 1", n, err)
	}
	if rows := f.rows(t); rows != 1 {
		t.Errorf("%d rows left, want only the recent one", rows)
	}
	if a := f.do(t, post("new", "x")); !a.replayed() {
		t.Error("Purge removed a record within retention")
	}
}
