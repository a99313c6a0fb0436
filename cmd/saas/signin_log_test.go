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

// A run that signs users in through IAM, as an operator would see it in the
// logs: every line of it is read, none may carry a password, a hash, an
// access or refresh token or the master key; and one request id follows a
// sign-in from IAM into UAM (the credential check) and Config Vault (the
// signature).
func TestSignInLogsNoSecretsAndOneRequestID(t *testing.T) {
	_, dbURL := dbtest.NewWithURL(t)
	const (
		password  = "Sekrit-Passphrase-4711"
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
	admin := adminToken(t, base)
	// svc2. starts every service credential, which the services send each other.
	secrets := []string{password, testAdminPassword, masterKey, admin, "argon2id", "Bearer", "svc2."}
	call := func(method, path, body, id string) (int, string) {
		header := []string{"Authorization", "Bearer " + admin}
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
	if code, body := call("POST", "/uam/v1/tenants/"+tenant.ID+"/users", `{"email":"ada@example.com","password":"`+password+`"}`, ""); code != http.StatusCreated {
		t.Fatalf("user: %d %s", code, body)
	}
	login := `{"tenant_id":"` + tenant.ID + `","email":"ada@example.com","password":"` + password + `"}`
	code, body = request(t, base, "POST", "/iam/v1/auth/login", login, "X-Request-Id", requestID)
	if code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	var tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal([]byte(body), &tokens)
	code, body = request(t, base, "POST", "/iam/v1/auth/refresh", `{"refresh_token":"`+tokens.RefreshToken+`"}`)
	if code != http.StatusOK {
		t.Fatalf("refresh: %d %s", code, body)
	}
	var refreshed struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal([]byte(body), &refreshed)
	secrets = append(secrets, tokens.AccessToken, tokens.RefreshToken, refreshed.AccessToken, refreshed.RefreshToken)
	wrong := strings.Replace(login, password, password+"-wrong", 1)
	if code, _ := request(t, base, "POST", "/iam/v1/auth/login", wrong); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := <-logs

	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("a secret to look for is empty: the test would prove nothing")
		}
		if strings.Contains(out, secret) {
			t.Errorf("the logs contain %.12q…", secret)
		}
	}
	// The sign-in's id is on IAM's line and on those of UAM, which checked
	// the password, and Config Vault, which signed the token.
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
	if !servicesSeen["iam"] || !servicesSeen["uam"] || !servicesSeen["config-vault"] {
		t.Errorf("request %s logged by %v, want iam, uam and config-vault", requestID, servicesSeen)
	}
	if lines < 5 {
		t.Errorf("only %d log lines: the test read nothing useful", lines)
	}
}
