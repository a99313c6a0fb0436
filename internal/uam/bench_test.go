package uam_test

import (
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/argon2"
	"github.com/saasplatform/saas/internal/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

// BenchmarkCredentialCheck compares credential checks through the whole
// HTTP stack (routing, validation, the database, the hash) with raw argon2id
// hashes at the same parameters, both with every core busy: the ratio of
// their checks/s is the overhead around the hash and should stay near 1.
func BenchmarkCredentialCheck(b *testing.B) {
	p := password.DefaultParams()
	b.Run("raw-argon2id", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			salt := make([]byte, password.SaltLen)
			_, _ = rand.Read(salt)
			var mem argon2.Memory // as a hashing slot of the server, reused
			for pb.Next() {
				mem.IDKey([]byte(goodPassword), salt, p.Time, p.Memory, p.Threads, password.KeyLen)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	b.Run("http", func(b *testing.B) {
		e := setupEnv(b, func(o *envOptions) { o.params = p; o.concurrency = 0 })
		tenant := e.tenant()
		e.user(tenant, "ada@example.com", goodPassword)
		// A plain client: the benchmark measures the server, not the contract
		// checks of the tests. It authenticates as IAM does, with the IAM
		// service's credential, so verifying it is part of what is measured.
		c, err := client.NewClientWithResponses(e.url+uam.Prefix,
			client.WithHTTPClient(&http.Client{Transport: e.is.Transport(b, "iam", "uam", nil)}))
		if err != nil {
			b.Fatal(err)
		}
		body := client.CredentialCheck{TenantId: tenant, Email: "ada@example.com", Password: goodPassword}
		// Many more callers than cores, as a busy server has: while some wait
		// on the database (the test pool has 4 connections), the hasher's
		// slots (one per core) stay busy.
		b.SetParallelism(12)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := c.CheckCredentialsWithResponse(ctx, body)
				if err != nil || r.StatusCode() != http.StatusOK {
					b.Errorf("check: %v %d", err, r.StatusCode())
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
}

// BenchmarkUserGrant reads a user's grant (what every IAM refresh asks)
// through the whole HTTP stack as IAM does, for a user with a tenant-wide
// and a site role.
func BenchmarkUserGrant(b *testing.B) {
	e := setupEnv(b)
	tenant := e.tenant()
	site := e.site(tenant)
	u := e.user(tenant, "ada@example.com", goodPassword)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, nil)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site})
	c, err := client.NewClientWithResponses(e.url+uam.Prefix,
		client.WithHTTPClient(&http.Client{Transport: e.is.Transport(b, "iam", "uam", nil)}))
	if err != nil {
		b.Fatal(err)
	}
	// The service method alone: what the database round trips cost.
	b.Run("service", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.svc.UserGrant(ctx, tenant, u.Id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		benchGrantHTTP(b, c, tenant, u.Id)
	})
}

func benchGrantHTTP(b *testing.B, c *client.ClientWithResponses, tenant, user uuid.UUID) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := c.GetUserGrantWithResponse(ctx, tenant, user)
			if err != nil || r.StatusCode() != http.StatusOK {
				b.Errorf("grant: %v %d", err, r.StatusCode())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
}
