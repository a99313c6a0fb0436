package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/argon2"
	"github.com/saasplatform/saas/internal/uam/password"
)

// BenchmarkLogin compares sign-ins per second through the whole platform
// (IAM → UAM's credential check → Config Vault's signature, over loopback
// HTTP, all middleware on) with raw argon2id hashes per second at the same
// parameters on as many cores: the hash is the cost a login cannot avoid,
// so the ratio of the two "/s" figures is the platform's overhead.
func BenchmarkLogin(b *testing.B) {
	cores := runtime.GOMAXPROCS(0)
	b.Run("argon2id", func(b *testing.B) {
		p := password.DefaultParams()
		pw, salt := []byte("correct horse battery staple"), make([]byte, password.SaltLen)
		b.SetParallelism(1) // GOMAXPROCS goroutines, one per core
		b.RunParallel(func(pb *testing.PB) {
			var mem argon2.Memory // as a hashing slot of the server, reused
			for pb.Next() {
				mem.IDKey(pw, salt, p.Time, p.Memory, p.Threads, password.KeyLen)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	b.Run("login", func(b *testing.B) {
		p := apptest.StartWith(b, apptest.Options{Configure: func(c *app.Config) { c.HashConcurrency = cores }})
		body := `{"email":"` + p.AdminEmail + `","password":"` + p.AdminPassword + `"}`
		// Twice the cores, so that a hash is always waiting while another
		// request is on the wire.
		b.SetParallelism(2)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, p.URL+"/iam/v1/auth/login", body)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
}

// BenchmarkRefresh is token refreshes per second: a refresh token's lookup
// and rotation, a read of the user's grant from UAM and a signature.
func BenchmarkRefresh(b *testing.B) {
	p := apptest.Start(b)
	workers := 2 * runtime.GOMAXPROCS(0)
	tokens := make(chan string, workers)
	for range workers {
		_, refresh := p.Login(b, nil, p.AdminEmail, p.AdminPassword)
		tokens <- refresh
	}
	b.ResetTimer()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		token := <-tokens // each goroutine rotates its own session's token
		for pb.Next() {
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(post(b, p.URL+"/iam/v1/auth/refresh", `{"refresh_token":"`+token+`"}`), &out); err != nil {
				b.Error(err)
				return
			}
			token = out.RefreshToken
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
}

func post(b *testing.B, url, body string) []byte {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Errorf("POST %s: %d %s", url, resp.StatusCode, out)
	}
	return out
}
