// Command saas runs the platform: every service in one process (the default)
// or any subset of them, migrates their databases, and rotates the master key.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/saasplatform/saas/internal/platform/httpapi"
)

const usage = `Usage: saas <command> [flags]

Commands:
  serve [--services a,b]   migrate, then serve the services (default: all) on SAAS_ADDR
  migrate [--services a,b] apply the services' database migrations and exit
  rotate-master-key        re-encrypt every private key under SAAS_MASTER_KEY
  gen-master-key           print a fresh random master key
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

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "help", "-h", "--help":
		fmt.Print(usage + envDoc)
		return nil
	case "gen-master-key":
		fmt.Println(newMasterKey())
		return nil
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
	// configuration is.
	var level slog.LevelVar
	slog.SetDefault(slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: &level})}))
	cfg, err := loadConfig(cmd != "migrate")
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
