package authn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerify measures one verification with a warm key cache, per
// algorithm: the cost the authentication middleware adds to a request.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			e := newEnv(b)
			tok := e.token(alg)
			ctx := context.Background()
			if _, err := e.v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyParallel is the same under contention on one tenant's entry.
func BenchmarkVerifyParallel(b *testing.B) {
	e := newEnv(b)
	tok := e.token("ES256")
	if _, err := e.v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.v.Verify(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkBearerToken(b *testing.B) {
	e := newEnv(b)
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("Authorization", "Bearer "+e.token("EdDSA"))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := BearerToken(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
