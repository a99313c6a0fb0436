package configvault_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
)

// BenchmarkReadTenant compares reading one tenant through the whole chain
// (request id, access log, recovery, spec validation, strict handler, sqlc)
// with a bare handler running the same query and encoding the row: the
// ratio of the two is what the platform's layers cost.
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
	full, err := httpapi.Root([]httpapi.API{configvault.NewAPI(svc, idempotency.New(pool, func(*http.Request) string { return "bench" }, idempotency.Options{}))}, nil)
	if err != nil {
		b.Fatal(err)
	}
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
		name string
		h    http.Handler
	}{{"platform", full}, {"bare", bareMux}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				tc.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
