package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/platform/pg"
)

// selectServices parses --services.
func selectServices(list string) ([]app.Service, error) {
	selected, err := app.Select(list)
	if err != nil {
		return nil, fmt.Errorf("--services: %w", err)
	}
	return selected, nil
}

// openDatabase creates the database if needed, connects and migrates.
func openDatabase(ctx context.Context, cfg config, selected []app.Service) (*pgxpool.Pool, error) {
	if err := pg.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	pool, err := pg.Open(ctx, cfg.DatabaseURL, pg.MaxConns(cfg.DBMaxConns))
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, pool, app.MigrationsOf(selected)...); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func serve(ctx context.Context, cfg config, selected []app.Service) error {
	setMemoryLimit(cfg.App.Argon2, cfg.App.HashConcurrency)
	stopTracing, err := startTracing(ctx, selected)
	if err != nil {
		return err
	}
	defer stopTracing() // last: after the server has drained and the pool closed
	pool, err := openDatabase(ctx, cfg, selected)
	if err != nil {
		return err
	}
	defer pool.Close()
	stopPoolStats, err := observePool(pool)
	if err != nil {
		return err
	}
	defer stopPoolStats()

	// Background work stops with the server, not with the signal: in-flight
	// requests may still need the key pool while draining.
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	platform, err := app.New(bg, cfg.App, pool, selected)
	if err != nil {
		return err
	}
	if err := platform.Bootstrap(ctx); err != nil {
		return err
	}
	go purgeEvery(bg, platform, time.Hour)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopPprof()
	}
	slog.Info("sign in", "url", cfg.App.PublicURL+"/docs", "login", cfg.App.PublicURL+"/iam/v1/auth/login",
		"email", cfg.App.BootstrapEmail)
	return listenAndServe(ctx, cfg, platform.Handler, ln)
}

// servePprof serves Go's profiler on its own listener (SAAS_PPROF_ADDR, a
// loopback address), apart from the API's handler chain, until stop.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SAAS_PPROF_ADDR: %w", err)
	}
	srv := &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 5 * time.Second}
	slog.Info("pprof listening", "addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// pprofHandler is net/http/pprof on a mux of its own (not DefaultServeMux).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, allocs, mutex, block...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// purgeEvery drops expired housekeeping rows; any replica may do it.
func purgeEvery(ctx context.Context, p *app.Platform, every time.Duration) {
	// Once at start too: a deployment restarted more often than every
	// would otherwise never purge.
	p.Purge(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Purge(ctx)
		}
	}
}

// listenAndServe serves until ctx ends (SIGTERM or SIGINT), then stops
// accepting connections and lets in-flight requests finish within the
// shutdown timeout.
func listenAndServe(ctx context.Context, cfg config, handler http.Handler, ln net.Listener) error {
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	slog.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running past the grace period are cut off, so that
		// closing the pool does not wait on them until the process is killed.
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	slog.Info("stopped")
	return nil
}

func rotateMasterKey(ctx context.Context, cfg config) error {
	vault, err := selectServices("config-vault")
	if err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg, vault)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := configvault.NewService(pool, cfg.App.Keyring, nil).RotateMasterKey(ctx)
	if err != nil {
		return err
	}
	slog.Info("master key rotated", "keys_resealed", n)
	return nil
}
