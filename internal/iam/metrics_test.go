package iam_test

import (
	"net/http"
	"testing"

	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/metrics"
)

// counter reads a counter of the process's registry; labels are name, value pairs.
func counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// Not parallel: the counters are the process's, and the parallel tests
// start only once the sequential ones are done.
func TestCounters(t *testing.T) {
	e := startEnv(t, apptest.Start(t))
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	c := e.registerClient(tenant, "sites:read")

	type series struct{ name, label, value string }
	watched := []series{
		{"saas_logins_total", "result", "succeeded"}, {"saas_logins_total", "result", "failed"},
		{"saas_logins_total", "result", "throttled"}, {"saas_tokens_issued_total", "grant", "password"},
		{"saas_tokens_issued_total", "grant", "refresh_token"}, {"saas_tokens_issued_total", "grant", "client_credentials"},
		{"saas_refresh_reuse_detected_total", "", ""},
	}
	read := func() map[series]float64 {
		m := map[series]float64{}
		for _, s := range watched {
			if s.label == "" {
				m[s] = counter(t, s.name)
			} else {
				m[s] = counter(t, s.name, s.label, s.value)
			}
		}
		return m
	}
	before := read()

	tok := e.signIn(tenant, "ada@example.com")
	for range 6 {
		e.login(&tenant, "ada@example.com", "wrong password")
	}
	if r := e.login(&tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("not throttled: %d", r.StatusCode())
	}
	if r := e.refresh(tok.RefreshToken); r.JSON200 == nil {
		t.Fatalf("refresh: %d %s", r.StatusCode(), r.Body)
	}
	e.refresh(tok.RefreshToken) // reuse
	e.clientToken(c)

	after := read()
	want := map[series]float64{
		watched[0]: 1, watched[1]: 6, watched[2]: 1, watched[3]: 1, watched[4]: 1, watched[5]: 1, watched[6]: 1,
	}
	for s, d := range want {
		if got := after[s] - before[s]; got != d {
			t.Errorf("%s{%s=%q} moved by %v, want %v", s.name, s.label, s.value, got, d)
		}
	}
}
