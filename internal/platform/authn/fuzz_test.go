package authn

import (
	"context"
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// FuzzVerify: no input panics, and none verifies unless it is, byte for
// byte, one of the genuine tokens in the corpus (any change to a signed
// token breaks its signature; base64 is decoded strictly).
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	genuine := map[string]bool{}
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		tok := e.token(alg)
		genuine[tok] = true
		f.Add([]byte(tok))
		parts := strings.Split(tok, ".")
		f.Add([]byte(parts[0] + "." + parts[1] + "."))
		f.Add([]byte(parts[0] + ".." + parts[2]))
	}
	f.Add([]byte(""))
	f.Add([]byte(".."))
	f.Add([]byte("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.e30."))
	f.Add([]byte(rawToken(map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": e.keys["RS256"].kid, "crit": []string{"b64"}, "b64": false}, e.claims(e.tenant), func([]byte) []byte { return []byte{1, 2, 3} })))

	f.Fuzz(func(t *testing.T, data []byte) {
		tok := string(data)
		c, err := e.v.Verify(context.Background(), tok)
		if err == nil {
			if !genuine[tok] {
				t.Fatalf("a forged token verified: %q → %+v", tok, c)
			}
			return
		}
		if !problem.Is(err, problem.KindUnauthorized) {
			t.Fatalf("error of kind %v: %v", problem.KindOf(err), err)
		}
	})
}
