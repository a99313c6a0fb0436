package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/argon2"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/uam/password"
)

// reference is what the platform's figures are read against.
type reference struct {
	Argon2Params    string             `json:"argon2id_params"`
	Argon2PerSecond float64            `json:"argon2id_hashes_per_s"`
	SignPerSecond   map[string]float64 `json:"signatures_per_s"` // by algorithm, RSA at 2048 bits
	Goroutines      int                `json:"goroutines"`
}

// argon2Params are the server's: SAAS_ARGON2_PARAMS if the caller set it.
func argon2Params() password.Params {
	if v := os.Getenv("SAAS_ARGON2_PARAMS"); v != "" {
		if p, err := password.ParseParams(v); err == nil {
			return p
		}
	}
	return password.DefaultParams()
}

// argon2Rate is raw argon2id hashes per second at the server's parameters
// on as many goroutines as there are cores, in this process (the server
// idle meanwhile). It is the implementation the server hashes with
// (internal/platform/argon2), each goroutine reusing one block memory as
// each of the server's hashing slots does, so that login ÷ raw compares a
// sign-in with its hash alone, not with a hash that also allocates.
func argon2Rate(d time.Duration) float64 {
	p := argon2Params()
	pw, salt := []byte("correct horse battery staple"), make([]byte, password.SaltLen)
	return perSecondEach(d, func() func() {
		var mem argon2.Memory
		hash := func() { mem.IDKey(pw, salt, p.Time, p.Memory, p.Threads, password.KeyLen) }
		hash() // allocates the memory before the clock starts, as a slot has after its first sign-in
		return hash
	})
}

// measureReference measures raw JWT signatures per second per algorithm, on
// as many goroutines as there are cores, in this process (the server idle
// meanwhile); argon2Rate is measured right before the login scenario.
func measureReference(d time.Duration) reference {
	ref := reference{Argon2Params: argon2Params().String(), SignPerSecond: map[string]float64{}, Goroutines: runtime.NumCPU()}
	// An access token's claims, as iam has config-vault sign them.
	claims := []byte(`{"iss":"http://127.0.0.1:8000/iam/v1/tenants/00000000-0000-7000-8000-000000000001",` +
		`"sub":"01a22bbb-af62-70c4-9418-b15972cbe54a","sub_type":"user","client_id":"sign-in","aud":"http://127.0.0.1:8000",` +
		`"exp":1796030950,"iat":1796030050,"nbf":1796030050,"jti":"01a22bbb-b008-76d5-8f53-2b7790e5964b",` +
		`"tenant_id":"00000000-0000-7000-8000-000000000001","scope":"content:read content:write keys:read sites:read tenants:read users:read",` +
		`"roles":["tenant-admin"]}`)
	for _, alg := range keyAlgorithms {
		spec := keycrypto.Spec{Algorithm: keycrypto.Algorithm(alg)}
		if spec.RSA() {
			spec.KeySize = 2048
		}
		m, err := keycrypto.Generate(spec)
		if err != nil {
			logf("reference %s: %v", alg, err)
			continue
		}
		ref.SignPerSecond[alg] = perSecond(d/2, func() {
			if _, err := keycrypto.SignJWT(m.Signer, spec.Algorithm, m.Kid, claims, "at+jwt"); err != nil {
				panic(err)
			}
		})
	}
	return ref
}

// perSecond runs f on one goroutine per core for d and returns calls/s.
func perSecond(d time.Duration, f func()) float64 {
	return perSecondEach(d, func() func() { return f })
}

// perSecondEach is perSecond with a function of its own on each goroutine,
// which setup returns; the setups run (in parallel) before the clock starts.
func perSecondEach(d time.Duration, setup func() func()) float64 {
	fs := make([]func(), runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range fs {
		wg.Go(func() { fs[i] = setup() })
	}
	wg.Wait()
	var n atomic.Int64
	end := time.Now().Add(d)
	start := time.Now()
	for _, f := range fs {
		wg.Go(func() {
			for time.Now().Before(end) {
				f()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// bareTenantQuery is config-vault's GetTenant.
const bareTenantQuery = `SELECT id, name, domain, is_active, version, created_at, updated_at FROM configvault.tenants WHERE id = $1`

// serveBare is the bare reference server: net/http and a pgx pool (opened
// like the platform's, so the same pool size), GET /tenants/{id} answering
// the tenant as JSON with an ETag, nothing else: no authentication,
// validation, logging or metrics. It prints its base URL on the first line
// of stdout and serves until SIGTERM.
func serveBare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("saas-load bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	db := fs.String("db", os.Getenv("DATABASE_URL"), "database URL (default $DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := pg.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tenants/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			http.Error(w, "not a UUID", http.StatusBadRequest)
			return
		}
		var t struct {
			ID        uuid.UUID `json:"id"`
			Name      string    `json:"name"`
			Domain    string    `json:"domain"`
			IsActive  bool      `json:"is_active"`
			Version   int64     `json:"-"`
			CreatedAt time.Time `json:"created_at"`
			UpdatedAt time.Time `json:"updated_at"`
		}
		err = pool.QueryRow(r.Context(), bareTenantQuery, id).Scan(&t.ID, &t.Name, &t.Domain, &t.IsActive, &t.Version, &t.CreatedAt, &t.UpdatedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "database", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"`+strconv.FormatInt(t.Version, 10)+`"`)
		_ = json.NewEncoder(w).Encode(t)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bareServer is the bare reference server running as a child process, so
// that it shares the machine with the generator as the platform does.
type bareServer struct {
	url  string
	pid  int
	stop func()
}

func startBare(ctx context.Context, dbURL string) (*bareServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "bare", "-db", dbURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("no address from the bare server: %w", err)
	}
	return &bareServer{url: strings.TrimSpace(line), pid: cmd.Process.Pid, stop: stop}, nil
}
