package authn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerify measures one verification with a warm key cache, per
// algorithm: the cost the authentication middleware adds to a request. With
// the token cache ("cached", the default) a token seen before costs a hash
// and a lookup; "uncached" (TokenCacheSize -1) verifies the signature each
// time, as every first use of a token does.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		for _, cache := range []struct {
			name string
			size int
		}{{"cached", 0}, {"uncached", -1}} {
			b.Run(alg+"/"+cache.name, func(b *testing.B) {
				e := newEnv(b, func(o *Options) { o.TokenCacheSize = cache.size })
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

// BenchmarkServiceCredential is the check of a service credential on every
// internal call (iam → uam, iam → config-vault, ...): "memoized" once its
// signature has verified (the usual case: a caller reuses a credential for
// minutes), "first" when the Ed25519 signature is checked.
func BenchmarkServiceCredential(b *testing.B) {
	token, _, err := process(b, "iam").Mint("iam", "config-vault")
	if err != nil {
		b.Fatal(err)
	}
	for _, memo := range []string{"memoized", "first"} {
		b.Run(memo, func(b *testing.B) {
			callee := process(b)
			v := callee.Verifier("config-vault", ServiceIdentities(), &refuseJWT{})
			b.ReportAllocs()
			for b.Loop() {
				if memo == "first" {
					clear(callee.signed.exp)
				}
				if _, err := v.Verify(context.Background(), token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
