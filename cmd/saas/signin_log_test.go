package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

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

	base, stop := startServe(t, map[string]string{"DATABASE_URL": dbURL, "SAAS_MASTER_KEY": masterKey, "SAAS_LOG_LEVEL": "debug"})
	call := func(method, path, body, id string) (int, string) {
		header := []string{"Authorization", "Bearer " + token}
		if id != "" {
			header = append(header, "X-Request-Id", id)
		}
		return request(t, base, method, path, body, header...)
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
	if err := stop(); err != nil {
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
