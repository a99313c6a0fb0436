package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

func TestTracingVariablesAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		bad         bool
	}{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", false},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", true},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://collector/v1/traces", false},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector", true},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", true},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", false},
	} {
		for _, k := range append(tracing.EndpointVars, "OTEL_EXPORTER_OTLP_PROTOCOL") {
			t.Setenv(k, "")
		}
		t.Setenv(tc.name, tc.value)
		errs := tracingEnvErrors()
		if (len(errs) > 0) != tc.bad || tc.bad && !strings.Contains(errs[0].Error(), tc.name) {
			t.Errorf("%s=%s: %v", tc.name, tc.value, errs)
		}
	}
}

// collector is an OTLP/HTTP trace receiver.
type collector struct {
	mu    sync.Mutex
	spans map[string][]string // span name -> the resource's saas.services, per span
	attrs map[string]string   // resource attributes seen
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, kv := range rs.GetResource().GetAttributes() {
			c.attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans[s.GetName()] = append(c.spans[s.GetName()], fmt.Sprintf("%x", s.GetTraceId()))
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `saas serve` with every service in this process, on a free
// port, configured by env on top of test defaults (a fresh master key, no key
// pool, no other process's URLs), and waits until /healthz answers. stop is
// SIGTERM: it returns what serve returned.
func startServe(t *testing.T, env map[string]string) (base string, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	defaults := map[string]string{
		"SAAS_ADDR": addr, "SAAS_MASTER_KEY": newMasterKey(), "SAAS_MASTER_KEY_PREVIOUS": "",
		"SAAS_DEV_MASTER_KEY_FILE": "", "SAAS_RSA_POOL_SIZE": "0", "SAAS_SERVICES": "",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
		"SAAS_PUBLIC_URL": "", "SAAS_BOOTSTRAP_ADMIN_EMAIL": "", "SAAS_BOOTSTRAP_ADMIN_PASSWORD": testAdminPassword,
		"SAAS_PLATFORM_TENANT_ID": "", "SAAS_PLATFORM_DOMAIN": "", "SAAS_ACCESS_TOKEN_TTL": "",
	}
	for _, s := range app.Services {
		defaults[app.URLVar(s.Name)] = ""
	}
	for k, v := range env {
		defaults[k] = v
	}
	for k, v := range defaults {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "serve", nil) }()
	base = "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not come up")
		}
	}
	return base, func() error { cancel(); return <-done }
}

// request sends one request with a JSON body, when there is one, and any
// further headers as name, value pairs.
func request(t *testing.T, base, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// testAdminPassword is the bootstrap administrator's password in these tests.
const testAdminPassword = "correct horse battery staple 42"

// adminToken signs in as the bootstrap administrator of the platform tenant.
func adminToken(t *testing.T, base string) string {
	t.Helper()
	code, body := request(t, base, "POST", "/iam/v1/auth/login",
		`{"email":"admin@platform.localhost","password":"`+testAdminPassword+`"}`)
	if code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login: %s", body)
	}
	return tok.AccessToken
}

// sample is the value of one series in a scrape, 0 when absent.
func sample(text, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, _ := strconv.ParseFloat(rest, 64)
			return v
		}
	}
	return 0
}

// saas serve as an operator runs it, with a collector configured: /metrics
// next to /healthz, labelled by route template, and on SIGTERM the spans
// still buffered are flushed.
func TestServeExposesMetricsAndFlushesTraces(t *testing.T) {
	_, dbURL := dbtest.NewWithURL(t)
	col := &collector{spans: map[string][]string{}, attrs: map[string]string{}}
	colSrv := httptest.NewServer(col)
	defer colSrv.Close()
	base, stop := startServe(t, map[string]string{
		"DATABASE_URL": dbURL, "SAAS_LOG_LEVEL": "warn",
		"OTEL_EXPORTER_OTLP_ENDPOINT": colSrv.URL, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "",
		"OTEL_SERVICE_NAME": "", "OTEL_RESOURCE_ATTRIBUTES": "", "OTEL_TRACES_SAMPLER": "",
	})
	token := adminToken(t, base)
	call := func(method, path, body string) (int, string) {
		return request(t, base, method, path, body, "Authorization", "Bearer "+token)
	}

	const tenantRoute = `route="/config-vault/v1/tenants/{tenant_id}",service="config-vault"}`
	_, before := call("GET", "/metrics", "")
	code, body := call("POST", "/config-vault/v1/tenants", `{"name":"Observed","domain":"observed.example"}`)
	if code != 201 {
		t.Fatalf("create tenant: %d %s", code, body)
	}
	var tenant struct{ ID string }
	_ = json.Unmarshal([]byte(body), &tenant)
	if code, body := call("POST", "/config-vault/v1/keys", `{"tenant_id":"`+tenant.ID+`","algorithm":"EdDSA"}`); code != 201 {
		t.Fatalf("create key: %d %s", code, body)
	}
	if code, _ := call("GET", "/config-vault/v1/tenants/"+tenant.ID, ""); code != 200 {
		t.Fatal(code)
	}
	if code, _ := call("GET", "/config-vault/v1/tenants/0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", ""); code != 404 {
		t.Fatal(code)
	}
	code, after := call("GET", "/metrics", "")
	if code != 200 {
		t.Fatal(code)
	}
	for series, want := range map[string]float64{
		`http_requests_total{code="2xx",method="GET",` + tenantRoute:                                         1,
		`http_requests_total{code="4xx",method="GET",` + tenantRoute:                                         1,
		`http_requests_total{code="2xx",method="POST",route="/config-vault/v1/keys",service="config-vault"}`: 1,
		`http_request_duration_seconds_count{code="2xx",method="GET",` + tenantRoute:                         1,
		`http_request_duration_seconds_count{code="4xx",method="GET",` + tenantRoute:                         1,
		`saas_keys_created_total{algorithm="EdDSA"}`:                                                         1,
	} {
		if d := sample(after, series) - sample(before, series); d != want {
			t.Errorf("%s went up by %v, want %v", series, d, want)
		}
	}
	for _, present := range []string{`db_pool_max_connections{pool="main"}`, `db_pool_acquires_total{pool="main"}`,
		`http_requests_in_flight{service="config-vault"}`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(after, present+" ") {
			t.Errorf("no %s in /metrics", present)
		}
	}
	if strings.Contains(after, tenant.ID) {
		t.Error("a tenant id is a label value")
	}

	if err := stop(); err != nil { // SIGTERM
		t.Fatal(err)
	}
	if tracing.Enabled() {
		t.Error("tracing is still on after serve returned")
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if col.attrs["service.name"] != "saas" || !strings.Contains(col.attrs["saas.services"], "config-vault") {
		t.Errorf("resource %v", col.attrs)
	}
	keySpans := col.spans["POST /config-vault/v1/keys"]
	if len(keySpans) != 1 {
		t.Fatalf("spans received: %v", col.spans)
	}
	var dbSpans int
	for name, traces := range col.spans {
		if !strings.HasPrefix(name, "POST ") && !strings.HasPrefix(name, "GET ") {
			for _, tid := range traces {
				if tid == keySpans[0] {
					dbSpans++
				}
			}
		}
	}
	if dbSpans == 0 {
		t.Errorf("no database span in the key creation's trace: %v", col.spans)
	}
}
