package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/platform/dbtest"
)

// A run that signs a user in, as an operator would see it in the logs: every
// line of it is read, none may carry the password, its hash, a bearer token or
// the master key; and one request id follows a request from UAM into Config
// Vault, which UAM calls to check the tenant.
func TestSignInLogsNoSecretsAndOneRequestID(t *testing.T) {
	_, dbURL := dbtest.NewWithURL(t)
	const (
		password  = "Sekrit-Passphrase-4711"
		token     = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln"
		requestID = "trace-this-request-0001"
	)
	masterKey := newMasterKey()
	addr := freeAddr(t)
	for k, v := range map[string]string{
		"DATABASE_URL": dbURL, "SAAS_ADDR": addr, "SAAS_MASTER_KEY": masterKey, "SAAS_MASTER_KEY_PREVIOUS": "",
		"SAAS_DEV_MASTER_KEY_FILE": "", "SAAS_RSA_POOL_SIZE": "0", "SAAS_SERVICES": "", "SAAS_LOG_LEVEL": "debug",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
	} {
		t.Setenv(k, v)
	}
	for _, s := range services {
		t.Setenv(serviceURLVar(s.name), "")
	}
	// run logs to os.Stderr; read it from a pipe for the length of the run.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()
	logs := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); logs <- string(b) }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, "serve", nil) }()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call := func(method, path, body, id string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := call("POST", "/config-vault/v1/tenants", `{"name":"Logged","domain":"logged.example"}`, "")
	if code != http.StatusCreated {
		t.Fatalf("tenant: %d %s", code, body)
	}
	var tenant struct{ ID string }
	_ = json.Unmarshal([]byte(body), &tenant)
	if code, body := call("POST", "/uam/v1/tenants/"+tenant.ID+"/users", `{"email":"ada@example.com","password":"`+password+`"}`, requestID); code != http.StatusCreated {
		t.Fatalf("user: %d %s", code, body)
	}
	check := `{"tenant_id":"` + tenant.ID + `","email":"ada@example.com","password":"` + password + `"}`
	if code, body := call("POST", "/uam/v1/internal/credential-checks", check, ""); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	wrong := strings.Replace(check, password, password+"-wrong", 1)
	if code, _ := call("POST", "/uam/v1/internal/credential-checks", wrong, ""); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := <-logs

	for _, secret := range []string{password, token, "argon2id", masterKey, "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	// The user creation's id is on UAM's line and on Config Vault's, which
	// UAM asked whether the tenant exists.
	servicesSeen := map[string]bool{}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			t.Errorf("a log line is not JSON: %s", sc.Text())
			continue
		}
		lines++
		if line["request_id"] == requestID {
			if s, ok := line["service"].(string); ok {
				servicesSeen[s] = true
			}
		}
	}
	if !servicesSeen["uam"] || !servicesSeen["config-vault"] {
		t.Errorf("request %s logged by %v, want uam and config-vault", requestID, servicesSeen)
	}
	if lines < 5 {
		t.Errorf("only %d log lines: the test read nothing useful", lines)
	}
}
