package main

import (
	"strings"
	"testing"
	"time"
)

func TestSummarizeUsesExactNearestRankPercentiles(t *testing.T) {
	var all []sample
	for i := 1; i <= 200; i++ { // 1 ms .. 200 ms
		status := 200
		if i%50 == 0 {
			status = 503
		}
		all = append(all, sample{time.Duration(i) * time.Millisecond, status})
	}
	all = append(all, sample{time.Millisecond, 0})
	r := result{Seconds: 2, Statuses: map[string]int{}}
	r.summarize(all)
	if r.Requests != 201 || r.RPS != 100.5 {
		t.Errorf("requests %d, rate %g", r.Requests, r.RPS)
	}
	// 201 samples: rank ceil(0.5·201) = 101 is 100 ms (two 1 ms samples come first).
	if r.P50 != 100 || r.P95 != 190 || r.P99 != 198 || r.Max != 200 {
		t.Errorf("p50 %g p95 %g p99 %g max %g", r.P50, r.P95, r.P99, r.Max)
	}
	if r.Errors != 5 || r.statusSummary() != "200×196 503×4 transport×1" {
		t.Errorf("errors %d, statuses %s", r.Errors, r.statusSummary())
	}
}

func TestTargetsAreCheckedAndExplained(t *testing.T) {
	r := &report{Reference: reference{Argon2PerSecond: 40}, ServerPeakRSSMiB: 160, Scenarios: []result{
		{Name: "bare-read-tenant", RPS: 10000},
		{Name: "read-tenant", RPS: 8000, P99: 9, Conns: 32},
		{Name: "login", RPS: 39, Errors: 1, Statuses: map[string]int{"200": 99, "409": 1}},
		{Name: "refresh", RPS: 2500},
		{Name: "create-key-RS256", P50: 3, Rate: 4},
	}}
	r.finish()
	met := map[string]bool{}
	for _, tg := range r.Targets {
		met[tg.Name] = tg.Met
		if !tg.Met && tg.Why == "" {
			t.Errorf("%s is missed without a reason", tg.Name)
		}
	}
	want := map[string]bool{targetAuthRead: true, targetAuthReadP99: true, targetLogin: false, targetRefresh: true,
		"create RS256-2048 key p50": true, targetMemory: false}
	for name, w := range want {
		if got, ok := met[name]; !ok || got != w {
			t.Errorf("%s: met %v (checked %v), want %v", name, got, ok, w)
		}
	}
	if len(r.Targets) != len(want) {
		t.Errorf("%d targets, want %d (PS256 did not run)", len(r.Targets), len(want))
	}
	md := r.markdown()
	for _, s := range []string{"| login rate vs raw argon2id | ≥ 90 % of raw hashes/s | 98 % (39.0 vs 40.0 /s), 1 failed (200×99 409×1) | **missed** |",
		"**server memory during the whole run missed.** The heap holds", "| read-tenant | 32 | 8,000 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("results.md lacks %q:\n%s", s, md)
		}
	}
}

func TestSelectScenarios(t *testing.T) {
	all, err := selectScenarios("")
	if err != nil || len(all) != 16 {
		t.Fatalf("%d scenarios, %v", len(all), err)
	}
	some, err := selectScenarios("login,read-tenant")
	if err != nil || len(some) != 2 || some[0].name != "read-tenant" || some[1].name != "login" {
		t.Fatalf("%v, %v: want the table's order", some, err)
	}
	if _, err := selectScenarios("read-tenant,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatal(err)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0.0", 42.25: "42.2", 100: "100", 9876.4: "9,876", 1234567: "1,234,567"} {
		if got := num(v); got != want {
			t.Errorf("num(%g) = %q, want %q", v, got, want)
		}
	}
}
