package authz

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/saasplatform/saas/internal/platform/httpapi"
)

// BenchmarkAuthorize is the middleware's own cost per request, routing
// done and the verifier free (a map lookup): what it adds beyond token
// verification. `go test -bench Authorize -benchmem`.
func BenchmarkAuthorize(b *testing.B) {
	doc := loadSpec(b, testSpec)
	doc.Servers = openapi3.Servers{{URL: "/t/v1"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(doc, Options{Verifier: &fakeVerifier{}, PlatformTenantID: platform})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, method, path, token string
		pass                      bool
	}{
		{"open", "POST", "/open", "", true},
		{"permission", "GET", "/things", "a-reader", true},
		{"tenant+permission", "GET", "/tenants/" + tenantA.String() + "/things", "a-reader", true},
		{"tenant+site+permission", "PUT", "/tenants/" + tenantA.String() + "/sites/" + site1.String() + "/content", "a-site", true},
		{"platform admin", "GET", "/tenants/" + tenantA.String() + "/things", "p-admin", true},
		{"other tenant 404", "GET", "/tenants/" + tenantB.String() + "/things", "a-reader", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(bc.method, "/t/v1"+bc.path, nil)
			if bc.token != "" {
				r.Header.Set("Authorization", "Bearer "+bc.token)
			}
			route, params, err := httpapi.FindRoute(router, r)
			if err != nil {
				b.Fatal(err)
			}
			w := discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, ok := a.Authorize(w, r, route, params); ok != bc.pass {
					b.Fatal(ok)
				}
			}
		})
	}
}

// discard is a ResponseWriter that keeps nothing, so that only the
// middleware's allocations count.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
