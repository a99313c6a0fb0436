package pg_test

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// freshURL is the URL of a new, empty database of the test server.
func freshURL(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	return dbtest.NewWithURL(t)
}

func TestOpenPoolSettings(t *testing.T) {
	t.Parallel()
	_, dbURL := freshURL(t)
	wantDefault := max(8, 4*int32(runtime.GOMAXPROCS(0)))
	tests := []struct {
		name      string
		query     string
		opts      []pg.Option
		wantConns int32
		wantDial  time.Duration
	}{
		{"defaults", "", nil, wantDefault, 5 * time.Second},
		{"MaxConns option", "", []pg.Option{pg.MaxConns(3)}, 3, 5 * time.Second},
		{"pool_max_conns in the URL", "pool_max_conns=5", nil, 5, 5 * time.Second},
		{"option beats the URL", "pool_max_conns=5", []pg.Option{pg.MaxConns(2)}, 2, 5 * time.Second},
		{"MaxConns(0) keeps the default", "", []pg.Option{pg.MaxConns(0)}, wantDefault, 5 * time.Second},
		{"connect_timeout in the URL", "connect_timeout=9", nil, wantDefault, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := withQuery(t, dbURL, tt.query)
			pool, err := pg.Open(context.Background(), u)
			if len(tt.opts) > 0 {
				pool.Close()
				pool, err = pg.Open(context.Background(), u, tt.opts...)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			cfg := pool.Config()
			if cfg.MaxConns != tt.wantConns {
				t.Errorf("MaxConns = %d, want %d", cfg.MaxConns, tt.wantConns)
			}
			if cfg.ConnConfig.ConnectTimeout != tt.wantDial {
				t.Errorf("ConnectTimeout = %v, want %v", cfg.ConnConfig.ConnectTimeout, tt.wantDial)
			}
			if cfg.HealthCheckPeriod <= 0 || cfg.MaxConnLifetime <= 0 {
				t.Errorf("no health check or lifetime: %+v", cfg)
			}
		})
	}
}

func withQuery(t *testing.T, raw, query string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if query != "" {
		u.RawQuery += "&" + query
	}
	return u.String()
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	const secret = "Hunter2-secret"
	tests := []struct {
		name        string
		url         string
		unavailable bool
	}{
		{"nothing listens", "postgres://app:" + secret + "@127.0.0.1:1/saas?sslmode=disable", true},
		{"password in the query", "postgres://127.0.0.1:1/saas?sslmode=disable&user=app&password=" + secret, true},
		{"key=value form", "host=127.0.0.1 port=1 user=app password=" + secret + " dbname=saas sslmode=disable", true},
		{"bad escape in the URL", "postgres://app:" + secret + "%zz@127.0.0.1:1/saas", false},
		{"bad port", "postgres://app:" + secret + "@127.0.0.1:notaport/saas", false},
		{"unknown sslmode", "postgres://app:" + secret + "@127.0.0.1/saas?sslmode=bogus", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, err := pg.Open(context.Background(), tt.url)
			if err == nil {
				pool.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error reveals the password: %v", err)
			}
			if got := problem.KindOf(pg.Classify(err)) == problem.KindUnavailable; got != tt.unavailable {
				t.Errorf("Classify(%v) unavailable = %v, want %v", err, got, tt.unavailable)
			}
		})
	}
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	observer, dbURL := freshURL(t)
	// A name that must be quoted: mixed case, a space and a double quote.
	name := fmt.Sprintf(`Saas Ensure "%d"`, time.Now().UnixNano())
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		_, err := observer.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	// Concurrent callers, as when several replicas start at once.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- pg.EnsureDatabase(context.Background(), u.String()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("EnsureDatabase: %v", err)
		}
	}
	if err := pg.EnsureDatabase(context.Background(), u.String()); err != nil {
		t.Errorf("EnsureDatabase on an existing database: %v", err)
	}
	pool, err := pg.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var got string
	if err := pool.QueryRow(context.Background(), `SELECT current_database()`).Scan(&got); err != nil || got != name {
		t.Errorf("connected to %q (%v), want %q", got, err, name)
	}
}

func TestEnsureDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	err := pg.EnsureDatabase(context.Background(), "postgres://app:pw-secret@127.0.0.1:1/saas?sslmode=disable")
	if err == nil || strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("EnsureDatabase = %v, want an error without the password", err)
	}
	if k := problem.KindOf(pg.Classify(err)); k != problem.KindUnavailable {
		t.Errorf("kind %v, want unavailable", k)
	}
}
