package iam_test

import (
	"net/http"
	"testing"

	client "github.com/saasplatform/saas/gen/client/iam"
	"github.com/saasplatform/saas/internal/app/apptest"
)

// BenchmarkListClients lists a tenant's clients through the whole platform
// (IAM asks Config Vault whether the tenant exists, then lists), with a plain
// client so that the server is what is measured.
func BenchmarkListClients(b *testing.B) {
	p := apptest.Start(b)
	admin := apptest.Bearer(p.AdminToken(b))
	c, err := client.NewClientWithResponses(p.URL + "/iam/v1")
	if err != nil {
		b.Fatal(err)
	}
	tenant := p.PlatformTenantID
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := c.ListClientsWithResponse(ctx, tenant, nil, admin)
			if err != nil || r.StatusCode() != http.StatusOK {
				b.Errorf("list: %v %v", err, r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lists/s")
}
