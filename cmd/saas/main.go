// Command saas runs the platform: every service in one process (the default)
// or any subset of them, migrates their databases, and rotates the master key.
package main

import (
	// The IANA time zone database in the binary: profile time zones are
	// checked against it, and minimal container images have none.
	_ "time/tzdata"

	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/logbuf"
)

const usage = `Usage: saas <command> [flags]

Commands:
  serve [--services a,b]   migrate, then serve the services (default: all) on SAAS_ADDR
  migrate [--services a,b] apply the services' database migrations and exit
  rotate-master-key        re-encrypt every private key under SAAS_MASTER_KEY
  gen-master-key           print a fresh random master key
  gen-service-keys         print fresh key pairs of the services' credentials: SAAS_SERVICE_KEYS
                           (secret) and SAAS_SERVICE_PUBLIC_KEYS
  healthcheck              exit 0 if the server on SAAS_ADDR answers /healthz (for container health checks)
  help                     this text

`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage+envDoc)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "saas:", err)
		os.Exit(1)
	}
}

// logFlushInterval is how long an info line may wait in the log buffer:
// short enough for someone tailing the log, long enough that a busy server
// writes a batch of lines per write(2).
const logFlushInterval = 100 * time.Millisecond

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "help", "-h", "--help":
		fmt.Print(usage + envDoc)
		return nil
	case "gen-master-key":
		fmt.Println(newMasterKey())
		return nil
	case "gen-service-keys":
		if len(args) > 0 {
			return fmt.Errorf("%s: unexpected arguments %q", cmd, args)
		}
		return genServiceKeys(os.Stdout)
	case "healthcheck":
		return healthcheck(ctx, os.Getenv("SAAS_ADDR"))
	}
	switch cmd {
	case "serve", "migrate", "rotate-master-key":
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	services := fs.String("services", os.Getenv("SAAS_SERVICES"), "comma-separated services to run (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", cmd, fs.Args())
	}
	selected, err := selectServices(*services)
	if err != nil {
		return err
	}
	// JSON logs from the first line on; the level is known once the
	// configuration is. Lines are written in batches (package logbuf: the
	// access log's write per request showed in profiles); warnings and
	// errors at once, and what is left when run returns.
	var level slog.LevelVar
	logs := logbuf.NewWriter(os.Stderr, logFlushInterval)
	defer logs.Close()
	slog.SetDefault(slog.New(logs.Handler(httpapi.LogHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: &level})})))
	var serving []app.Service
	if cmd == "serve" {
		serving = selected
	}
	cfg, err := loadConfig(cmd != "migrate", serving)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	level.Set(cfg.LogLevel)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, selected)
	case "migrate":
		_, err := openDatabase(ctx, cfg, selected)
		return err
	default: // rotate-master-key
		return rotateMasterKey(ctx, cfg)
	}
}

// genServiceKeys prints a fresh key pair for every service that calls
// others, as the two variables in env-file form.
func genServiceKeys(w io.Writer) error {
	k := authn.GenerateServiceKeys()
	ids := strings.Join(authn.ServiceIdentities(), ", ")
	_, err := fmt.Fprintf(w, `# Keys of the services' credentials (%s), made by 'saas gen-service-keys'.
# %s is secret: a process running every service takes it whole; otherwise give
# each process only the entries (name=key) of the services it runs, and no other.
%s=%s
# %s is not secret: give it to the processes running %s.
%s=%s
`, ids, app.ServiceKeysVar, app.ServiceKeysVar, authn.FormatServicePrivateKeys(k.Private),
		app.ServicePublicKeysVar, strings.Join(app.CalledWithCredentials(), " or "),
		app.ServicePublicKeysVar, authn.FormatServicePublicKeys(k.Public))
	return err
}

// healthcheck asks the local server's /healthz, so that a container image
// with nothing but the binary can still have a HEALTHCHECK.
func healthcheck(ctx context.Context, addr string) error {
	if addr == "" {
		addr = ":8000"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || !validPort(port) {
		return fmt.Errorf("SAAS_ADDR=%q: want host:port or :port", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}
