package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/app"
)

func TestConfigIsValidatedWithClearErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // part of the error; "" for valid
	}{
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey()}, ""},
		{map[string]string{}, "SAAS_MASTER_KEY is not set"},
		{map[string]string{"SAAS_MASTER_KEY": "c2hvcnQ="}, "SAAS_MASTER_KEY"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_MASTER_KEY_PREVIOUS": "nope"}, "SAAS_MASTER_KEY_PREVIOUS entry 1"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_DB_MAX_CONNS": "0"}, "SAAS_DB_MAX_CONNS"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_SHUTDOWN_TIMEOUT": "soon"}, "SAAS_SHUTDOWN_TIMEOUT"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_LOG_LEVEL": "loud"}, "SAAS_LOG_LEVEL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_RSA_POOL_SIZE": "-1"}, "SAAS_RSA_POOL_SIZE"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ADDR": "nonsense"}, "SAAS_ADDR"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ADDR": ":99999"}, "SAAS_ADDR"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ADDR": "127.0.0.1:8000"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_CONFIG_VAULT_URL": "http://config-vault:8000"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_CONFIG_VAULT_URL": "config-vault:8000"}, "SAAS_CONFIG_VAULT_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_UAM_URL": "http://uam:8000/uam/v1"}, "SAAS_UAM_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ARGON2_PARAMS": "m=65536,t=3,p=2"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ARGON2_PARAMS": "m=4096,t=1,p=1"}, "SAAS_ARGON2_PARAMS"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_HASH_CONCURRENCY": "0"}, "SAAS_HASH_CONCURRENCY"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "https://api.example.com"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "https://api.example.com/base"}, "SAAS_PUBLIC_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "api.example.com"}, "SAAS_PUBLIC_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "https://api.example.com?"}, "SAAS_PUBLIC_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "https://api.example.com#"}, "SAAS_PUBLIC_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "https://api.example.com:99999"}, "SAAS_PUBLIC_URL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PUBLIC_URL": "http://127.0.0.1:8000/"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PLATFORM_DOMAIN": "not a domain"}, "SAAS_PLATFORM_DOMAIN"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_CONTENT_SCHEDULER_INTERVAL": "1s", "SAAS_CONTENT_TRASH_RETENTION": "7d"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_CONTENT_SCHEDULER_INTERVAL": "soon"}, "SAAS_CONTENT_SCHEDULER_INTERVAL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_CONTENT_TRASH_RETENTION": "0"}, "SAAS_CONTENT_TRASH_RETENTION"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PLATFORM_DOMAIN": "ops.example.com"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_BOOTSTRAP_ADMIN_EMAIL": "admin"}, "SAAS_BOOTSTRAP_ADMIN_EMAIL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_BOOTSTRAP_ADMIN_PASSWORD": "qwerty123"}, "SAAS_BOOTSTRAP_ADMIN_PASSWORD"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_BOOTSTRAP_ADMIN_PASSWORD": "short"}, "SAAS_BOOTSTRAP_ADMIN_PASSWORD"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_BOOTSTRAP_ADMIN_EMAIL": "ops@example.com",
			"SAAS_BOOTSTRAP_ADMIN_PASSWORD": "a long and unusual passphrase"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PLATFORM_TENANT_ID": "platform"}, "SAAS_PLATFORM_TENANT_ID"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ACCESS_TOKEN_TTL": "10s"}, "SAAS_ACCESS_TOKEN_TTL"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_ACCESS_TOKEN_TTL": "30m"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_TRUSTED_PROXIES": "10.0.0.1/33"}, "SAAS_TRUSTED_PROXIES"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PPROF_ADDR": "127.0.0.1:6060"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PPROF_ADDR": "[::1]:6060"}, ""},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PPROF_ADDR": ":6060"}, "SAAS_PPROF_ADDR"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PPROF_ADDR": "0.0.0.0:6060"}, "SAAS_PPROF_ADDR"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_PPROF_ADDR": "10.0.0.5:6060"}, "SAAS_PPROF_ADDR"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_SERVICE_KEYS": "iam"}, "SAAS_SERVICE_KEYS: entry 1 is not name=<base64 key>"},
		{map[string]string{"SAAS_MASTER_KEY": newMasterKey(), "SAAS_SERVICE_PUBLIC_KEYS": "iam=c2hvcnQ="}, "SAAS_SERVICE_PUBLIC_KEYS: the key of iam is not base64 of a 32-byte"},
	} {
		for _, k := range []string{"SAAS_ADDR", "SAAS_MASTER_KEY", "SAAS_MASTER_KEY_PREVIOUS", "SAAS_DEV_MASTER_KEY_FILE", "SAAS_DB_MAX_CONNS", "SAAS_SHUTDOWN_TIMEOUT", "SAAS_LOG_LEVEL", "SAAS_RSA_POOL_SIZE",
			"SAAS_CONFIG_VAULT_URL", "SAAS_UAM_URL", "SAAS_ARGON2_PARAMS", "SAAS_HASH_CONCURRENCY", "SAAS_PUBLIC_URL",
			"SAAS_PLATFORM_TENANT_ID", "SAAS_ACCESS_TOKEN_TTL", "SAAS_TRUSTED_PROXIES", "SAAS_PLATFORM_DOMAIN",
			"SAAS_BOOTSTRAP_ADMIN_EMAIL", "SAAS_BOOTSTRAP_ADMIN_PASSWORD", "SAAS_CONTENT_SCHEDULER_INTERVAL",
			"SAAS_CONTENT_TRASH_RETENTION", "SAAS_SERVICE_KEYS", "SAAS_SERVICE_PUBLIC_KEYS", "SAAS_PPROF_ADDR"} {
			t.Setenv(k, tc.env[k])
		}
		_, err := loadConfig(true, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one mentioning %s", tc.env, err, tc.want)
		}
		if err != nil && tc.env["SAAS_MASTER_KEY"] != "" && strings.Contains(err.Error(), tc.env["SAAS_MASTER_KEY"]) {
			t.Errorf("an error message reveals the master key: %v", err)
		}
		if pw := tc.env["SAAS_BOOTSTRAP_ADMIN_PASSWORD"]; err != nil && pw != "" && strings.Contains(err.Error(), pw) {
			t.Errorf("an error message reveals the bootstrap password: %v", err)
		}
	}
}

func TestCommandLineIsChecked(t *testing.T) {
	t.Setenv("SAAS_MASTER_KEY", "")
	t.Setenv("SAAS_DEV_MASTER_KEY_FILE", "")
	for _, args := range [][]string{{"frobnicate"}, {"migrate", "extra"}, {"serve", "--services", "nope"}} {
		err := run(context.Background(), args[0], args[1:])
		if err == nil || strings.Contains(err.Error(), "SAAS_MASTER_KEY is not set") {
			t.Errorf("saas %v: %v, want an error about the command line", args, err)
		}
	}
}

func TestDevMasterKeyIsCreatedOnceAndReused(t *testing.T) {
	file := t.TempDir() + "/sub/master.key"
	t.Setenv("SAAS_MASTER_KEY", "")
	t.Setenv("SAAS_MASTER_KEY_PREVIOUS", "")
	t.Setenv("SAAS_DEV_MASTER_KEY_FILE", file)
	a, err := loadConfig(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadConfig(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.App.Keyring.CurrentID() != b.App.Keyring.CurrentID() {
		t.Fatal("a restart must reuse the development master key")
	}
}

func TestSelectServices(t *testing.T) {
	all, err := selectServices("")
	if err != nil || len(all) != len(app.Services) {
		t.Fatal(all, err)
	}
	one, err := selectServices(" config-vault , config-vault")
	if err != nil || len(one) != 1 || one[0].Name != "config-vault" {
		t.Fatal(one, err)
	}
	if _, err := selectServices("config-vault,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatal(err)
	}
}

// SIGTERM (here: the context ending) lets the in-flight request finish,
// refuses new connections and returns.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- listenAndServe(ctx, config{ShutdownTimeout: 5 * time.Second}, handler, ln) }()

	url := "http://" + ln.Addr().String() + "/"
	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-started
	cancel()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if r := <-inflight; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestHealthcheckCommand(t *testing.T) {
	serveStatus := func(code int) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(code)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return ":" + port
	}
	t.Setenv("SAAS_ADDR", serveStatus(http.StatusOK))
	if err := run(context.Background(), "healthcheck", nil); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	t.Setenv("SAAS_ADDR", serveStatus(http.StatusServiceUnavailable))
	if err := run(context.Background(), "healthcheck", nil); err == nil {
		t.Error("a 503 passed the health check")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("SAAS_ADDR", addr)
	if err := run(context.Background(), "healthcheck", nil); err == nil {
		t.Error("nothing listening passed the health check")
	}
}

// SAAS_PPROF_ADDR's listener serves the profiles, and only them.
func TestPprofHandler(t *testing.T) {
	srv := httptest.NewServer(pprofHandler())
	defer srv.Close()
	for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/heap?debug=1": 200, "/debug/pprof/cmdline": 200, "/healthz": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
