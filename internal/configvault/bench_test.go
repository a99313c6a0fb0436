package configvault_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
)

// BenchmarkReadTenant compares reading one tenant through the whole chain
// (request id, access log, recovery, token verification and authorization,
// spec validation, strict handler, sqlc) with the same chain without
// authentication and with a bare handler running the same query and
// encoding the row: the ratios are what authentication and the platform's
// layers cost.
func BenchmarkReadTenant(b *testing.B) {
	pool := dbtest.New(b, idempotency.Migrations, configvault.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(b))
	if err != nil {
		b.Fatal(err)
	}
	svc := configvault.NewService(pool, kr, nil)
	ten, err := svc.CreateTenant(ctx, configvault.NewTenant{Name: "Bench", Domain: "bench.example", IsActive: true})
	if err != nil {
		b.Fatal(err)
	}
	issuer := authtest.New(b)
	vault := configvault.NewAPI(svc, idempotency.New(pool, func(*http.Request) string { return "bench" }, idempotency.Options{}))
	authenticated, err := httpapi.Root([]httpapi.API{issuer.Protect(b, vault)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	open, err := httpapi.Root([]httpapi.API{vault}, nil)
	if err != nil {
		b.Fatal(err)
	}
	token := "Bearer " + issuer.Token(b, authtest.Grant{Tenant: ten.ID, Scopes: []string{"tenants:read"}})
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var t struct {
			ID        uuid.UUID `json:"id"`
			Name      string    `json:"name"`
			Domain    string    `json:"domain"`
			IsActive  bool      `json:"is_active"`
			CreatedAt time.Time `json:"created_at"`
			UpdatedAt time.Time `json:"updated_at"`
		}
		id, _ := uuid.Parse(r.PathValue("id"))
		err := pool.QueryRow(r.Context(), "SELECT id, name, domain, is_active, created_at, updated_at FROM configvault.tenants WHERE id = $1", id).
			Scan(&t.ID, &t.Name, &t.Domain, &t.IsActive, &t.CreatedAt, &t.UpdatedAt)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(t)
	})
	bareMux := http.NewServeMux()
	bareMux.Handle("GET /config-vault/v1/tenants/{id}", bare)

	path := "/config-vault/v1/tenants/" + ten.ID.String()
	for _, tc := range []struct {
		name, authorization string
		h                   http.Handler
	}{{"authenticated", token, authenticated}, {"unauthenticated", "", open}, {"bare", "", bareMux}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", path, nil)
				if tc.authorization != "" {
					req.Header.Set("Authorization", tc.authorization)
				}
				tc.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkSignToken signs an access token through the service method with a
// warm key (created and its signer cached before the timer starts): one
// query that selects the key and checks its state, then the signature. The
// ES256 case is the key a tenant gets on first need; RS256 shows what the
// default algorithm of administrator-created keys would cost instead.
func BenchmarkSignToken(b *testing.B) {
	pool := dbtest.New(b, idempotency.Migrations, configvault.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(b))
	if err != nil {
		b.Fatal(err)
	}
	svc := configvault.NewService(pool, kr, nil)
	claims := []byte(`{"iss":"https://auth.example.com/iam/v1/tenants/t","sub":"0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6c","aud":"saas","exp":` +
		strconv.FormatInt(time.Now().Add(15*time.Minute).Unix(), 10) + `,"iat":1767224700,"jti":"0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6d","roles":["editor"],"scope":"content:read content:write sites:read"}`)
	for _, alg := range []string{"ES256", "RS256"} {
		ten, err := svc.CreateTenant(ctx, configvault.NewTenant{Name: "Bench " + alg, Domain: uniqueDomain("bench"), IsActive: true})
		if err != nil {
			b.Fatal(err)
		}
		if alg != "ES256" { // ES256 is what the first sign creates
			if _, err := svc.CreateKey(ctx, configvault.NewKey{TenantID: ten.ID, Algorithm: alg}); err != nil {
				b.Fatal(err)
			}
		}
		in := configvault.TokenRequest{TenantID: ten.ID, Claims: claims}
		tok, err := svc.SignToken(ctx, in) // warm: the key exists and its signer is cached
		if err != nil || string(tok.Algorithm) != alg {
			b.Fatalf("%s: %v %v", alg, tok.Algorithm, err)
		}
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.SignToken(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.SignToken(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
