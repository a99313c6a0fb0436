package faulttest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/dbtest"
)

// exchange is one request of the load as the client saw it.
type exchange struct {
	id, op  string
	want    int    // the operation's normal status
	table   string // where a created resource is stored ("": nothing created)
	start   time.Time
	end     time.Time
	first   bool // a byte of an answer arrived
	status  int  // 0: no answer
	err     error
	created string
}

// loadOp is one kind of request of the load.
type loadOp struct {
	name, method, path string
	body               func(n int64) string // nil: none
	want               int
	table              string
}

// do sends one request of op, numbered n, identified by its X-Request-Id,
// and traces whether any answer arrived. body, when not nil, replaces the
// op's body (a slow upload).
func do(client *http.Client, base string, op loadOp, n int64, token string, body io.Reader) exchange {
	x := exchange{id: fmt.Sprintf("ft-%d", n), op: op.name, want: op.want, table: op.table, start: time.Now()}
	if body == nil && op.body != nil {
		body = strings.NewReader(op.body(n))
	}
	req, err := http.NewRequest(op.method, base+op.path, body)
	if err != nil {
		x.err = err
		return x
	}
	var first atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotFirstResponseByte: func() { first.Store(true) },
	}))
	req.Header.Set("X-Request-Id", x.id)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		x.status = resp.StatusCode
		if err == nil && resp.StatusCode == http.StatusCreated {
			x.created = answer{body: b}.str("id")
		}
	}
	x.end, x.err, x.first = time.Now(), err, first.Load()
	return x
}

// refusedConnection tells a failure to reach the server or to get any
// answer on a connection it closed: refused, reset, closed before anything
// was read. Nothing else counts as a clean refusal.
func refusedConnection(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// SIGTERM while the platform serves concurrent reads and writes, some of
// them slow (RSA key generation) and two uploading their bodies slowly
// across the signal. The real binary gets a real SIGTERM. Proven:
//
//   - accepted means the server began handling the request: its access log,
//     which has a line for every request the handler chain received, names
//     the request's X-Request-Id. Every accepted request was answered to the
//     client, whole, with its operation's normal status (200 or 201): zero
//     failed requests among the accepted ones, the slow uploads included,
//     which were accepted before the signal and finished after it;
//   - every request the client saw fail was never accepted, and failed at
//     the connection (refused, reset, closed) without a byte of an answer:
//     no 5xx, no half answer, no hang; none of them was begun more than a
//     second before the signal;
//   - while the slow uploads were still draining, a new TCP connection was
//     refused (the listener closed at once);
//   - the process exited with status 0, logging "stopped", within
//     SAAS_SHUTDOWN_TIMEOUT of the signal;
//   - every create answered 201 is in the database afterwards.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	pool, dbURL := dbtest.NewWithURL(t, app.MigrationsOf(app.Services)...)
	const grace = 8 * time.Second
	p := startProcess(t, map[string]string{"DATABASE_URL": dbURL, "SAAS_SHUTDOWN_TIMEOUT": grace.String()})
	admin := login(t, p.base, nil, app.DefaultBootstrapEmail, apptest.AdminPassword)
	baseTenant := created(t, "POST", p.base+"/config-vault/v1/tenants", admin, `{"name":"Base","domain":"base.example.com"}`)
	platform := app.DefaultPlatformTenantID.String()

	ops := []loadOp{
		{name: "read a tenant", method: "GET", path: "/config-vault/v1/tenants/" + baseTenant, want: 200},
		{name: "list sites", method: "GET", path: "/config-vault/v1/tenants/" + baseTenant + "/sites?limit=10", want: 200},
		{name: "list users", method: "GET", path: "/uam/v1/tenants/" + platform + "/users?limit=10", want: 200},
		{name: "create a tenant", method: "POST", path: "/config-vault/v1/tenants", want: 201, table: "configvault.tenants",
			body: func(n int64) string { return fmt.Sprintf(`{"name":"Load %d","domain":"load-%d.example.com"}`, n, n) }},
		{name: "create a role", method: "POST", path: "/uam/v1/tenants/" + baseTenant + "/roles", want: 201, table: "uam.roles",
			body: func(n int64) string { return fmt.Sprintf(`{"name":"role-%d","permissions":["users:read"]}`, n) }},
		{name: "create an RSA key", method: "POST", path: "/config-vault/v1/keys", want: 201, table: "configvault.signing_keys",
			body: func(int64) string { return `{"tenant_id":"` + baseTenant + `","algorithm":"RS256"}` }},
	}

	var (
		seq       atomic.Int64
		mu        sync.Mutex
		exchanges []exchange
		stop      = make(chan struct{})
		workers   sync.WaitGroup
	)
	record := func(x exchange) {
		mu.Lock()
		exchanges = append(exchanges, x)
		mu.Unlock()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(exchanges)
	}
	// Half the workers keep their connections, as a load balancer would;
	// the other half open one per request.
	keepAlive := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	const nWorkers = 12
	for w := range nWorkers {
		client := keepAlive
		if w%2 == 1 {
			client = fresh
		}
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				x := do(client, p.base, ops[int(n)%len(ops)], n, admin, nil)
				record(x)
				if x.err != nil {
					return // the server is going away: this worker is done
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); workers.Wait() })
	defer stopLoad()
	if !waitFor(20*time.Second, func() bool { return count() >= 120 }) {
		t.Fatalf("the load did not get going: %d requests in 20 s", count())
	}

	// Two uploads that take their time: the first half of the body now,
	// the rest well after the signal.
	const slowFor = 1500 * time.Millisecond
	slowOp := ops[3]
	release := make(chan struct{})
	slow := make(chan exchange, 2)
	for range 2 {
		n := seq.Add(1)
		pr, pw := io.Pipe()
		body := slowOp.body(n)
		go func() {
			_, _ = io.WriteString(pw, body[:len(body)/2])
			<-release
			_, _ = io.WriteString(pw, body[len(body)/2:])
			_ = pw.Close()
		}()
		go func() { slow <- do(fresh, p.base, slowOp, n, admin, pr) }()
	}
	time.Sleep(300 * time.Millisecond) // the uploads have begun

	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused while the uploads still drain.
	var refusedAt time.Time
	waitFor(3*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			refusedAt = time.Now()
			return true
		}
		t.Errorf("a new connection after SIGTERM: %v, want connection refused", err)
		return true
	})
	time.Sleep(time.Until(signalled.Add(slowFor)))
	close(release)
	var slowEnds []time.Time
	for range 2 {
		x := <-slow
		record(x)
		slowEnds = append(slowEnds, x.end)
		if x.status != http.StatusCreated || x.err != nil {
			t.Errorf("an upload in flight across SIGTERM: status %d, error %v; want 201", x.status, x.err)
		}
	}
	select {
	case <-p.exited:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("saas serve still runs %s after SIGTERM", time.Since(signalled))
	}
	stopLoad()

	exitedAfter := p.exitAt.Sub(signalled)
	t.Logf("%d requests; SIGTERM after %s; new connections refused %s after it; exit %s after it",
		len(exchanges), signalled.Sub(exchanges[0].start).Round(time.Millisecond),
		refusedAt.Sub(signalled).Round(time.Millisecond), exitedAfter.Round(time.Millisecond))
	if code := p.exitCode(); code != 0 || !p.logged("stopped") {
		t.Errorf("exit status %d (stopped logged: %v), want 0 after a clean drain", code, p.logged("stopped"))
	}
	if exitedAfter >= grace {
		t.Errorf("exited %s after SIGTERM, beyond SAAS_SHUTDOWN_TIMEOUT=%s", exitedAfter, grace)
	}
	if refusedAt.IsZero() {
		t.Error("new connections were still accepted 3 s after SIGTERM")
	} else {
		for _, end := range slowEnds {
			if !refusedAt.Before(end) {
				t.Errorf("new connections were refused only at %s, after an in-flight upload ended (%s)",
					refusedAt.Sub(signalled), end.Sub(signalled))
			}
		}
	}

	accepted := p.accessLog()
	var inFlight, failed, answeredAfter int
	createdIDs := map[string][]string{}
	for _, x := range exchanges {
		line, wasAccepted := accepted[x.id]
		switch {
		case x.err == nil && x.status == x.want:
			if !wasAccepted {
				t.Errorf("%s (%s) answered %d but is not in the access log", x.id, x.op, x.status)
			} else if s, _ := line["status"].(float64); int(s) != x.status {
				t.Errorf("%s (%s): the client got %d, the log says %v", x.id, x.op, x.status, line["status"])
			}
			if x.start.Before(signalled) && x.end.After(signalled) {
				inFlight++
			}
			if x.end.After(signalled) {
				answeredAfter++
			}
			if x.table != "" {
				createdIDs[x.table] = append(createdIDs[x.table], x.created)
			}
		case x.err == nil:
			t.Errorf("%s (%s) answered %d, want %d", x.id, x.op, x.status, x.want)
		default:
			failed++
			switch {
			case wasAccepted:
				t.Errorf("%s (%s) was accepted (the server logged %v) but failed on the client: %v", x.id, x.op, line["status"], x.err)
			case x.first:
				t.Errorf("%s (%s) failed after part of an answer: %v", x.id, x.op, x.err)
			case !refusedConnection(x.err):
				t.Errorf("%s (%s) failed other than by a refused or closed connection: %v", x.id, x.op, x.err)
			case x.start.Before(signalled.Add(-time.Second)):
				t.Errorf("%s (%s), begun %s before SIGTERM, failed: %v", x.id, x.op, signalled.Sub(x.start), x.err)
			}
		}
	}
	t.Logf("in flight at SIGTERM and answered normally: %d; answered after SIGTERM: %d; refused after it: %d",
		inFlight, answeredAfter, failed)
	if inFlight < 2 {
		t.Errorf("only %d requests were in flight at SIGTERM: the test proved nothing about draining", inFlight)
	}

	// Every write answered 201 was committed.
	checkCommitted(t, pool, createdIDs)
}

// SIGTERM with a request that outlasts SAAS_SHUTDOWN_TIMEOUT: the process
// exits within the grace period (plus the time to close the pool and
// exit), with status 1 and the reason logged, and the straggler's client
// gets its connection closed without an answer, never a 5xx.
func TestSIGTERMCutsOffStragglersAtTheGracePeriod(t *testing.T) {
	t.Parallel()
	_, dbURL := dbtest.NewWithURL(t, app.MigrationsOf(app.Services)...)
	const grace = time.Second
	p := startProcess(t, map[string]string{"DATABASE_URL": dbURL, "SAAS_SHUTDOWN_TIMEOUT": grace.String()})
	admin := login(t, p.base, nil, app.DefaultBootstrapEmail, apptest.AdminPassword)

	op := loadOp{name: "create a tenant", method: "POST", path: "/config-vault/v1/tenants", want: 201,
		body: func(int64) string { return `{"name":"Straggler","domain":"straggler.example.com"}` }}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, `{"name":`) }() // and nothing more
	result := make(chan exchange, 1)
	go func() {
		result <- do(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, p.base, op, 1, admin, pr)
	}()
	time.Sleep(300 * time.Millisecond)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("saas serve still runs %s after SIGTERM", time.Since(signalled))
	}
	exitedAfter := p.exitAt.Sub(signalled)
	// Closing the pool and exiting take a moment after the grace period;
	// under the race detector a longer one.
	if slack := 2 * time.Second; exitedAfter > grace+slack {
		t.Errorf("exited %s after SIGTERM, want within SAAS_SHUTDOWN_TIMEOUT=%s (+%s)", exitedAfter, grace, slack)
	}
	if exitedAfter < grace {
		t.Errorf("exited %s after SIGTERM, before the grace period of %s was over", exitedAfter, grace)
	}
	if code := p.exitCode(); code != 1 || !strings.Contains(p.logText(10), "shutdown: context deadline exceeded") {
		t.Errorf("exit status %d, want 1 with the reason logged:\n%s", code, p.logText(10))
	}
	// Go's client reports a broken connection only once the body it was
	// sending has ended: end it.
	pw.CloseWithError(errors.New("the client gives up uploading"))
	x := <-result
	if x.err == nil || x.first {
		t.Errorf("the straggler: status %d, error %v; want its connection closed without an answer", x.status, x.err)
	}
	t.Logf("exited %s after SIGTERM (grace %s); the straggler got: %v", exitedAfter.Round(time.Millisecond), grace, x.err)
}
