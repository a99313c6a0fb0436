package faulttest_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/app/apptest"
)

// pgExchange is one request of the load on a database that goes away.
type pgExchange struct {
	op         string
	start, end time.Time
	a          answer
	err        error
	readBack   string // the created resource's URL, for a 201
}

// The platform's PostgreSQL, a private cluster of this test, is stopped
// with -m immediate (every backend killed, as in a crash) while writes to
// three services run, and started again a little later. Proven:
//
//   - while it is down, every request fails fast (within 2 s) with 503 and
//     a problem document (with Retry-After), and /readyz answers 503;
//   - nothing answers anything but 2xx or 503 at any time, and no
//     connection of a client is dropped;
//   - once it is back, the same platform, not restarted, turns ready and
//     serves every request again;
//   - every write answered 201, before, during or after the outage, can be
//     read back afterwards.
func TestPostgresStoppedDuringLoad(t *testing.T) {
	cluster := startPGCluster(t)
	p := apptest.StartWith(t, apptest.Options{DatabaseURL: cluster.url("saas")})
	admin := p.AdminToken(t)
	tenant := created(t, "POST", p.URL+"/config-vault/v1/tenants", admin, `{"name":"Outage","domain":"outage.example.com"}`)
	site := created(t, "POST", p.URL+"/config-vault/v1/sites", admin,
		`{"tenant_id":"`+tenant+`","name":"www","domain":"www.outage.example.com"}`)

	type op struct {
		name, method, path string
		body               func(n int64) string
		readBack           func(id string) string
	}
	items := "/content/v1/tenants/" + tenant + "/sites/" + site + "/items"
	ops := []op{
		{"create a tenant", "POST", "/config-vault/v1/tenants",
			func(n int64) string { return fmt.Sprintf(`{"name":"Load %d","domain":"load-%d.example.com"}`, n, n) },
			func(id string) string { return "/config-vault/v1/tenants/" + id }},
		{"create a site", "POST", "/config-vault/v1/sites",
			func(n int64) string {
				return fmt.Sprintf(`{"tenant_id":"%s","name":"site %d","domain":"s%d.outage.example.com"}`, tenant, n, n)
			},
			func(id string) string { return "/config-vault/v1/sites/" + id }},
		{"create a role", "POST", "/uam/v1/tenants/" + tenant + "/roles",
			func(n int64) string { return fmt.Sprintf(`{"name":"role-%d","permissions":["users:read"]}`, n) },
			func(id string) string { return "/uam/v1/tenants/" + tenant + "/roles/" + id }},
		{"create a content item", "POST", items,
			func(n int64) string {
				return fmt.Sprintf(`{"type":"page","slug":"page-%d","title":"Page %d","body":"Text %d."}`, n, n, n)
			},
			func(id string) string { return items + "/" + id }},
		{"read a tenant", "GET", "/config-vault/v1/tenants/" + tenant, nil, nil},
	}

	var (
		seq       atomic.Int64
		mu        sync.Mutex
		exchanges []pgExchange
		stop      = make(chan struct{})
		workers   sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 6 {
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				o := ops[int(n)%len(ops)]
				body := ""
				if o.body != nil {
					body = o.body(n)
				}
				x := pgExchange{op: o.name, start: time.Now()}
				x.a, x.err = send(context.Background(), client, o.method, p.URL+o.path, admin, body)
				x.end = time.Now()
				if x.a.status == http.StatusCreated && o.readBack != nil {
					x.readBack = o.readBack(x.a.str("id"))
				}
				mu.Lock()
				exchanges = append(exchanges, x)
				mu.Unlock()
				if x.a.status == http.StatusServiceUnavailable {
					time.Sleep(20 * time.Millisecond) // as a client honouring Retry-After a little
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); workers.Wait() })
	defer stopLoad()
	successes := func(after time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, x := range exchanges {
			if x.start.After(after) && x.a.status/100 == 2 {
				n++
			}
		}
		return n
	}
	if !waitFor(20*time.Second, func() bool { return successes(time.Time{}) >= 40 }) {
		t.Fatalf("the load did not get going: %d successes in 20 s", successes(time.Time{}))
	}

	stopping := time.Now()
	if err := cluster.stopImmediately(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	ready := mustSend(t, "GET", p.URL+"/readyz", "", "")
	if ready.status != http.StatusServiceUnavailable || ready.str("status") != "unavailable" || ready.latency > 2*time.Second {
		t.Errorf("/readyz with the database down: %s in %s, want 503 unavailable within 2 s", ready, ready.latency)
	}
	time.Sleep(2 * time.Second)

	restarting := time.Now()
	if err := cluster.start(); err != nil {
		t.Fatal(err)
	}
	var readyAt time.Time
	if !waitFor(20*time.Second, func() bool {
		a := mustSend(t, "GET", p.URL+"/readyz", "", "")
		readyAt = time.Now()
		return a.status == http.StatusOK
	}) {
		t.Fatal("/readyz did not turn 200 within 20 s of the database's restart")
	}
	if !waitFor(20*time.Second, func() bool { return successes(readyAt) >= 20 }) {
		t.Errorf("the service did not resume: %d successes in 20 s after /readyz turned 200", successes(readyAt))
	}
	stopLoad()

	var before, during, after, failedFast int
	var slowest time.Duration
	for _, x := range exchanges {
		name := fmt.Sprintf("%s at %+.3fs after the stop", x.op, x.start.Sub(down).Seconds())
		switch {
		case x.err != nil:
			t.Errorf("%s: no answer: %v", name, x.err)
			continue
		case x.a.status/100 == 2:
		case x.a.status == http.StatusServiceUnavailable:
			if !isProblem(x.a, 503) || x.a.header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without a problem document or Retry-After: %s %v", name, x.a, x.a.header)
			}
		default:
			t.Errorf("%s: %s, want 2xx or 503", name, x.a)
		}
		switch {
		case x.end.Before(stopping):
			before++
			if x.a.status/100 != 2 {
				t.Errorf("%s, before the database stopped: %s", name, x.a)
			}
		case !x.start.Before(down) && x.end.Before(restarting):
			during++
			if x.a.status != http.StatusServiceUnavailable {
				t.Errorf("%s, with the database down: %s, want 503", name, x.a)
			}
			if x.a.latency > 2*time.Second {
				t.Errorf("%s, with the database down, took %s: want a failure within 2 s", name, x.a.latency)
			} else {
				failedFast++
			}
			slowest = max(slowest, x.a.latency)
		case x.start.After(readyAt):
			after++
			if x.a.status/100 != 2 {
				t.Errorf("%s, after /readyz turned 200 again: %s", name, x.a)
			}
		}
	}
	t.Logf("%d requests: %d before the stop, %d while down (slowest answer %s), %d once ready again (ready %s after the restart began)",
		len(exchanges), before, during, slowest.Round(time.Millisecond), after, readyAt.Sub(restarting).Round(time.Millisecond))
	if failedFast < 10 {
		t.Errorf("only %d requests were made while the database was down: the test proved little", failedFast)
	}

	// Every write answered 201 is there, whatever the phase it was made in.
	var created []string
	for _, x := range exchanges {
		if x.readBack != "" {
			created = append(created, x.readBack)
		}
	}
	slices.Sort(created)
	for _, path := range created {
		if a := mustSend(t, "GET", p.URL+path, admin, ""); a.status != http.StatusOK {
			t.Errorf("%s, created with 201, reads %s", path, a)
		}
	}
	if len(created) < 20 {
		t.Errorf("only %d writes were answered 201", len(created))
	}
}

// freeze stops the server and every backend with SIGSTOP, as a hung host or
// a server stuck on I/O would look: connections stay open and the kernel
// still accepts and acknowledges, but nothing answers. The postmaster
// first, so that it forks no backend the second step would miss.
func (c *pgCluster) freeze() error {
	pid, err := c.postmasterPID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP the postmaster %d: %w", pid, err)
	}
	// pkill exits 1 when no process matched: with no backend, that is fine.
	if out, err := exec.Command("pkill", "-STOP", "-P", strconv.Itoa(pid)).CombinedOutput(); err != nil && len(out) > 0 {
		return fmt.Errorf("pkill -STOP -P %d: %v: %s", pid, err, out)
	}
	return nil
}

// thaw undoes freeze: the backends first, then the postmaster.
func (c *pgCluster) thaw() error {
	pid, err := c.postmasterPID()
	if err != nil {
		return err
	}
	if out, err := exec.Command("pkill", "-CONT", "-P", strconv.Itoa(pid)).CombinedOutput(); err != nil && len(out) > 0 {
		return fmt.Errorf("pkill -CONT -P %d: %v: %s", pid, err, out)
	}
	return syscall.Kill(pid, syscall.SIGCONT)
}

// postmasterPID is the first line of the data directory's postmaster.pid.
func (c *pgCluster) postmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// The platform's PostgreSQL hangs (SIGSTOP to the postmaster and every
// backend) instead of going away: nothing refuses a connection or closes
// one, so only the platform's own deadlines can end the wait. Proven:
//
//   - while it is frozen, reads and writes, the pool's connections all busy
//     with hung statements and more requests queued behind them, are each
//     answered 503 problem+json within 8 s (httpapi.RequestTimeout, 5 s,
//     plus scheduling), and /readyz answers 503;
//   - the process is left with no more goroutines than before: no handler,
//     no statement waits on for ever;
//   - after SIGCONT, the same platform serves again without a restart.
func TestPostgresHungAnswers503(t *testing.T) {
	cluster := startPGCluster(t)
	p := apptest.StartWith(t, apptest.Options{DatabaseURL: cluster.url("saas")})
	admin := p.AdminToken(t)
	tenant := created(t, "POST", p.URL+"/config-vault/v1/tenants", admin, `{"name":"Hung","domain":"hung.example.com"}`)
	read := p.URL + "/config-vault/v1/tenants/" + tenant
	if a := mustSend(t, "GET", read, admin, ""); a.status != http.StatusOK {
		t.Fatalf("GET the tenant before the freeze: %s", a)
	}
	before := settledGoroutines()

	if err := cluster.freeze(); err != nil {
		t.Fatal(err)
	}
	// Registered after apptest's cleanup, so it runs first: the platform's
	// pool and pg_ctl stop need a server that runs.
	thawOnce := sync.OnceValue(cluster.thaw)
	t.Cleanup(func() { _ = thawOnce() })
	frozen := time.Now()

	// Twice the pool's connections (8 on this machine) at once: the first
	// ones hang in statements on connections that were open, the rest wait
	// for a connection or for a new one that never completes its startup.
	const n, bound = 16, 8 * time.Second
	answers := make([]answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if i%2 == 0 {
				answers[i], errs[i] = send(ctx, nil, "GET", read, admin, "")
			} else {
				answers[i], errs[i] = send(ctx, nil, "POST", p.URL+"/config-vault/v1/tenants", admin,
					fmt.Sprintf(`{"name":"Hung %d","domain":"hung-%d.example.com"}`, i, i))
			}
		})
	}
	ready := mustSend(t, "GET", p.URL+"/readyz", "", "")
	wg.Wait()
	took := time.Since(frozen)
	var slowest time.Duration
	for i := range n {
		name := fmt.Sprintf("request %d (%s), the database frozen", i, map[bool]string{true: "read", false: "write"}[i%2 == 0])
		switch a := answers[i]; {
		case errs[i] != nil:
			t.Errorf("%s: no answer after %s: %v", name, a.latency, errs[i])
		case !isProblem(a, http.StatusServiceUnavailable):
			t.Errorf("%s: %s, want 503 problem+json", name, a)
		case a.latency > bound:
			t.Errorf("%s: answered after %s, want within %s", name, a.latency, bound)
		default:
			slowest = max(slowest, a.latency)
		}
	}
	if ready.status != http.StatusServiceUnavailable || ready.latency > bound {
		t.Errorf("/readyz with the database frozen: %s in %s, want 503 within %s", ready, ready.latency, bound)
	}

	// Nothing lingers: handlers returned, and pgx closed the connections
	// whose statements hung (connection attempts still waiting on the frozen
	// postmaster end with the connect timeout, 5 s).
	after := runtime.NumGoroutine()
	const slack = 10
	if !waitFor(8*time.Second, func() bool { after = runtime.NumGoroutine(); return after <= before+slack }) {
		var dump strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("%d goroutines before the freeze, still %d with it frozen and every request answered:\n%s", before, after, dump.String())
	}

	if err := thawOnce(); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()
	if !waitFor(15*time.Second, func() bool {
		return mustSend(t, "GET", p.URL+"/readyz", "", "").status == http.StatusOK &&
			mustSend(t, "GET", read, admin, "").status == http.StatusOK
	}) {
		t.Fatal("the platform did not serve again within 15 s of SIGCONT")
	}
	if a := mustSend(t, "POST", p.URL+"/config-vault/v1/tenants", admin, `{"name":"Thawed","domain":"thawed.example.com"}`); a.status != http.StatusCreated {
		t.Errorf("a write after the thaw: %s, want 201", a)
	}
	t.Logf("%d requests with the database frozen, all answered in %s (the slowest in %s); goroutines %d before, %d after; serving again %s after SIGCONT",
		n, took.Round(time.Millisecond), slowest.Round(time.Millisecond), before, after, time.Since(thawed).Round(time.Millisecond))
}
