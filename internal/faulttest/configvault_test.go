package faulttest_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/authn"
)

// vaultCall is a request that needs Config Vault's answer, and what it
// answers while Config Vault answers.
type vaultCall struct {
	name, method, path, body string
	token                    bool
	healthy                  int
}

// Config Vault in a process of its own, reached by the process running
// UAM, IAM and content through a proxy that forwards, delays (within and
// beyond the call timeout), refuses or resets the calls. Each fault gets a
// burst of concurrent sign-ins (IAM has Config Vault sign the token), key
// set reads (IAM serves Config Vault's), a UAM request about a tenant it
// has not seen and a content delivery request for a site it has not seen
// (both ask Config Vault whether it exists: answers that are not found are
// never cached). Proven, for each fault:
//
//   - every request answers 503 with a problem document that says a
//     service is unavailable, and Retry-After: when Config Vault does not
//     answer, within the call timeout (app.Config.CallTimeout, 1 s here)
//     and 1.5 s of slack; when it refuses or resets connections, within the
//     call timeout (sign-ins: a second more, for their password hash);
//   - once the burst is over, the process has as many goroutines as before
//     (a few of slack): nothing piles up behind a dead dependency;
//   - once the proxy forwards again, the very same process answers
//     everything as before, without a restart.
//
// And a Config Vault slower than usual but within the timeout is no fault.
func TestConfigVaultFaultsSeenFromIAM(t *testing.T) {
	const callTimeout = time.Second
	// Both processes must agree on the issuer and audience.
	const publicURL = "http://platform.faulttest.localhost"
	keys := authn.GenerateServiceKeys() // as 'saas gen-service-keys' makes them
	vaultOnly, err := app.Select("config-vault")
	if err != nil {
		t.Fatal(err)
	}
	vault := apptest.StartWith(t, apptest.Options{Services: vaultOnly, Configure: func(c *app.Config) {
		c.PublicURL = publicURL
		c.ServiceKeys = authn.ServiceKeys{Public: map[string][]ed25519.PublicKey{
			"uam": keys.Public["uam"], "iam": keys.Public["iam"], "content": keys.Public["content"]}}
	}})
	proxy := startFaultProxy(t, vault.URL)
	others, err := app.Select("uam,iam,content")
	if err != nil {
		t.Fatal(err)
	}
	p := apptest.StartWith(t, apptest.Options{Services: others, Configure: func(c *app.Config) {
		c.PublicURL = publicURL
		c.ServiceURLs = map[string]string{"config-vault": proxy.URL}
		c.ServiceKeys = authn.ServiceKeys{Private: map[string]ed25519.PrivateKey{
			"uam": keys.Private["uam"], "iam": keys.Private["iam"], "content": keys.Private["content"]}}
		c.CallTimeout = callTimeout
	}})
	admin := login(t, p.URL, nil, p.AdminEmail, p.AdminPassword)

	platform := p.PlatformTenantID.String()
	loginBody := fmt.Sprintf(`{"email":%q,"password":%q}`, p.AdminEmail, p.AdminPassword)
	calls := func() []vaultCall {
		return []vaultCall{
			{"sign in", "POST", "/iam/v1/auth/login", loginBody, false, 200},
			{"IAM's key set", "GET", "/iam/v1/tenants/" + platform + "/jwks.json", "", false, 200},
			{"UAM, a tenant not seen yet", "GET", "/uam/v1/tenants/" + uuid.NewString() + "/users", "", true, 404},
			{"content, a site not seen yet", "GET", "/content/v1/sites/" + uuid.NewString() + "/published", "", true, 404},
		}
	}
	// burst sends n of each call at once (sign-ins: at most 2, which keeps
	// the failed ones, counted by the sign-in throttle, below its limit)
	// and returns the answers by call.
	burst := func(n int) map[string][]answer {
		var mu sync.Mutex
		out := map[string][]answer{}
		var wg sync.WaitGroup
		for i := range n {
			for _, c := range calls() {
				if c.name == "sign in" && i >= 2 {
					continue
				}
				wg.Go(func() {
					token := ""
					if c.token {
						token = admin
					}
					a, err := send(context.Background(), nil, c.method, p.URL+c.path, token, c.body)
					if err != nil {
						a = answer{body: []byte(err.Error())}
					}
					mu.Lock()
					out[c.name] = append(out[c.name], a)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		return out
	}
	healthy := func(phase string) {
		t.Helper()
		want := map[string]int{}
		for _, c := range calls() {
			want[c.name] = c.healthy
		}
		// The first calls may find a pooled connection the proxy closed.
		var got map[string][]answer
		ok := waitFor(5*time.Second, func() bool {
			got = burst(1)
			for name, answers := range got {
				if answers[0].status != want[name] {
					return false
				}
			}
			return true
		})
		if !ok {
			for name, answers := range got {
				if answers[0].status != want[name] {
					t.Errorf("%s: %s: %s, want %d", phase, name, answers[0], want[name])
				}
			}
		}
	}

	healthy("Config Vault answering")
	proxy.set(t, delay, callTimeout/4)
	healthy("Config Vault slow, within the call timeout")

	for _, fault := range []struct {
		mode  proxyMode
		wait  time.Duration
		bound time.Duration // what a request may take (a sign-in: a second more, for its password hash)
	}{
		{delay, 5 * callTimeout, callTimeout + 1500*time.Millisecond},
		{refuse, 0, callTimeout},
		{reset, 0, callTimeout},
	} {
		name := fault.mode.String()
		if fault.mode == delay {
			name = fmt.Sprintf("delay %s (beyond the call timeout)", fault.wait)
		}
		proxy.set(t, forward, 0)
		healthy("before " + name)
		proxy.set(t, fault.mode, fault.wait)
		before := settledGoroutines()
		start := time.Now()
		answers := burst(10)
		took := time.Since(start)
		n, slowest := 0, time.Duration(0)
		for call, list := range answers {
			for _, a := range list {
				n++
				switch {
				case !isProblem(a, http.StatusServiceUnavailable):
					t.Errorf("%s: %s: %s, want 503 problem+json", name, call, a)
				case !strings.Contains(a.str("detail"), "unavailable") || a.header.Get("Retry-After") == "":
					t.Errorf("%s: %s: the problem does not say what is unavailable, or has no Retry-After: %s %v", name, call, a, a.header)
				}
				bound := fault.bound
				if call == "sign in" {
					bound += time.Second
				}
				if a.latency > bound {
					t.Errorf("%s: %s answered after %s, want within %s", name, call, a.latency, bound)
				}
				slowest = max(slowest, a.latency)
			}
		}
		// Nothing lingers: the count falls back to where it was.
		after := runtime.NumGoroutine()
		const slack = 10
		if !waitFor(5*time.Second, func() bool { after = runtime.NumGoroutine(); return after <= before+slack }) {
			var dump strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
			t.Errorf("%s: %d goroutines before the burst, still %d 5 s after it:\n%s", name, before, after, dump.String())
		}
		t.Logf("%s: %d requests at once, all answered in %s (the slowest in %s); goroutines %d before, %d after",
			name, n, took.Round(time.Millisecond), slowest.Round(time.Millisecond), before, after)
		proxy.set(t, forward, 0)
		healthy("recovered from " + name)
	}
}

// settledGoroutines waits for the number of goroutines to stop changing
// (connections closing, handlers returning) and returns it.
func settledGoroutines() int {
	n, stable := runtime.NumGoroutine(), 0
	for i := 0; i < 100 && stable < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			stable++
		} else {
			n, stable = m, 0
		}
	}
	return n
}
