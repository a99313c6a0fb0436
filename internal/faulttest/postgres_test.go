package faulttest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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
