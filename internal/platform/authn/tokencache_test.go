package authn

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestTokenCacheRemembersOnlyVerifiedTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("ES256")
	first, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.v.tokens.len(); n != 1 {
		t.Fatalf("%d tokens remembered; want 1", n)
	}
	again, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Subject != first.Subject || !again.ExpiresAt.Equal(first.ExpiresAt) ||
		strings.Join(again.Scopes, " ") != strings.Join(first.Scopes, " ") || len(again.SiteScopes) != len(first.SiteScopes) {
		t.Fatalf("remembered claims %+v differ from the verified ones %+v", again, first)
	}
	// The same token with another signature, or a bit of its payload
	// changed, is another token: verified, and refused.
	h, p, _ := strings.Cut(tok, ".")
	p, s, _ := strings.Cut(p, ".")
	sig := []byte(s)
	sig[10] ^= 1
	_, err = e.v.Verify(ctx, h+"."+p+"."+string(sig))
	wantUnauthorized(t, err, nil)
	pl := []byte(p)
	pl[20] ^= 1
	_, err = e.v.Verify(ctx, h+"."+string(pl)+"."+s)
	wantUnauthorized(t, err, nil)
	if n := e.v.tokens.len(); n != 1 {
		t.Fatalf("%d tokens remembered; want 1: failures are never remembered", n)
	}
}

// A refetch of the key set before MaxAge (here: caused by an unknown kid)
// that no longer has the key stops a remembered token at once, as it would
// without the cache.
func TestTokenCacheForgetsTokensOfARevokedKeyAtTheNextFetch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("ES256")
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	e.src.put(e.tenant, e.keys["RS256"], e.keys["EdDSA"]) // ES256 revoked
	e.clock.Advance(DefaultMinRefreshInterval)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("before the set is fetched again the token still verifies: %v", err)
	}
	unknown := sign(t, e.keys["RS256"], "", hdr{"kid": "unknown", "typ": "at+jwt"}, e.claims(e.tenant))
	_, err := e.v.Verify(ctx, unknown)
	wantUnauthorized(t, err, errUnknownKey)
	if n := e.src.count(e.tenant); n != 2 {
		t.Fatalf("%d fetches; want 2", n)
	}
	_, err = e.v.Verify(ctx, tok)
	wantUnauthorized(t, err, errUnknownKey)
}

func TestTokenCacheHonoursExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	claims := e.claims(e.tenant)
	claims["exp"] = e.clock.Now().Unix() + 30 // expires before the key set does
	k := e.keys["EdDSA"]
	tok := sign(t, k, "", defaultHeaders(k), claims)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(29 * time.Second)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	_, err := e.v.Verify(ctx, tok)
	wantUnauthorized(t, err, errExpired)
}

func TestTokenCacheHandsOutCopies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token("PS256")
	for range 2 {
		c, err := e.v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.Scopes[0] != "users:read" || c.SiteScopes[testSite][0] != "content:write" || *c.UserID != testUser {
			t.Fatalf("claims changed by an earlier caller: %+v", c)
		}
		c.Scopes[0], c.SiteScopes[testSite][0], *c.UserID = "tenants:write", "keys:write", [16]byte{}
	}
}

func TestTokenCacheIsBoundedAndCanBeOff(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(o *Options) { o.TokenCacheSize = 4 })
	for range 20 {
		if _, err := e.v.Verify(ctx, e.token("EdDSA")); err != nil { // a new jti each time
			t.Fatal(err)
		}
		if n := e.v.tokens.len(); n > 4 {
			t.Fatalf("%d tokens remembered; want at most 4", n)
		}
	}
	off := newEnv(t, func(o *Options) { o.TokenCacheSize = -1 })
	for range 2 {
		if _, err := off.v.Verify(ctx, off.token("EdDSA")); err != nil {
			t.Fatal(err)
		}
	}
	if off.v.tokens != nil || off.v.tokens.len() != 0 {
		t.Fatal("TokenCacheSize -1 must turn the cache off")
	}
}
