package keycrypto

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// allSpecs is every algorithm and size the vault offers.
var allSpecs = []Spec{
	{RS256, 2048}, {RS256, 3072}, {RS256, 4096},
	{PS256, 2048}, {PS256, 3072}, {PS256, 4096},
	{ES256, 0}, {EdDSA, 0},
}

func specName(s Spec) string {
	if s.KeySize == 0 {
		return string(s.Algorithm)
	}
	return fmt.Sprintf("%s-%d", s.Algorithm, s.KeySize)
}

// fixtures generates each spec once per test binary: RSA-4096 takes seconds.
var fixtures = func() map[Spec]func() (*Material, error) {
	m := make(map[Spec]func() (*Material, error))
	for _, s := range allSpecs {
		m[s] = sync.OnceValues(func() (*Material, error) { return Generate(s) })
	}
	return m
}()

func material(tb testing.TB, s Spec) *Material {
	tb.Helper()
	m, err := fixtures[s]()
	if err != nil {
		tb.Fatalf("Generate(%v): %v", s, err)
	}
	return m
}

var testMasterKey = mustMasterKey(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))

func mustMasterKey(b64 string) MasterKey {
	mk, err := ParseMasterKey(b64)
	if err != nil {
		panic(err)
	}
	return mk
}

func testKeyring(tb testing.TB) *Keyring {
	tb.Helper()
	kr, err := NewKeyring(testMasterKey)
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

// TestRoundTrip follows a key through its whole life for every algorithm and
// size: generate, seal, store the public forms, open, sign, and verify the
// token against a JWKS built from what is published.
func TestRoundTrip(t *testing.T) {
	for _, spec := range allSpecs {
		t.Run(specName(spec), func(t *testing.T) {
			t.Parallel()
			m := material(t, spec)
			kr := testKeyring(t)
			aad := []byte("key-row-" + specName(spec))

			sealed, mkID, err := kr.Seal(m.PrivateDER, aad)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := kr.OpenSigner(sealed, mkID, aad, spec.Algorithm)
			if err != nil {
				t.Fatal(err)
			}
			if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(m.Signer.Public()) {
				t.Fatal("opened key differs from the generated one")
			}

			// The JWK derived from the PEM verifies the signature too.
			published, err := PublicJWKFromPEM(m.PublicPEM, spec.Algorithm, m.Kid)
			if err != nil {
				t.Fatal(err)
			}
			set := jwk.NewSet()
			key, err := jwk.ParseKey(published)
			if err != nil {
				t.Fatal(err)
			}
			if err := set.AddKey(key); err != nil {
				t.Fatal(err)
			}

			payload := []byte(`{"sub":"user-1","iss":"https://iam.example"}`)
			token, err := SignJWT(signer, spec.Algorithm, m.Kid, payload, "at+jwt")
			if err != nil {
				t.Fatal(err)
			}
			var msg jws.Message
			got, err := jws.Verify(token, jws.WithKeySet(set), jws.WithMessage(&msg))
			if err != nil {
				t.Fatalf("verify against the published JWKS: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("payload = %s", got)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if h.Algorithm().String() != string(spec.Algorithm) || h.KeyID() != m.Kid || h.Type() != "at+jwt" {
				t.Fatalf("protected header alg=%s kid=%s typ=%s", h.Algorithm(), h.KeyID(), h.Type())
			}

			// A token from another key with the same kid must not verify.
			other, err := Generate(Spec{ES256, 0})
			if err != nil {
				t.Fatal(err)
			}
			forged, err := SignJWT(other.Signer, ES256, m.Kid, payload, "at+jwt")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(forged, jws.WithKeySet(set)); err == nil {
				t.Fatal("a token signed by another key verified")
			}
		})
	}
}

func TestPublicForms(t *testing.T) {
	for _, spec := range allSpecs {
		t.Run(specName(spec), func(t *testing.T) {
			t.Parallel()
			m := material(t, spec)

			// PEM: one PKIX public key, equal to the generated one.
			block, rest := pem.Decode(m.PublicPEM)
			if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
				t.Fatalf("PublicPEM is not a single PUBLIC KEY block:\n%s", m.PublicPEM)
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(m.Signer.Public()) {
				t.Fatal("PEM does not hold the generated public key")
			}
			if err := spec.Algorithm.accepts(pub); err != nil {
				t.Fatal(err)
			}

			// PKCS #8 private key of the same pair.
			priv, err := x509.ParsePKCS8PrivateKey(m.PrivateDER)
			if err != nil {
				t.Fatal(err)
			}
			if !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Fatal("PrivateDER is not the pair's private key")
			}

			// JWK: exactly the public members, and kid is the RFC 7638 thumbprint.
			var members map[string]string
			if err := json.Unmarshal(m.PublicJWK, &members); err != nil {
				t.Fatal(err)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := members[private]; ok {
					t.Errorf("public JWK has private member %q", private)
				}
			}
			names := slices.Sorted(maps.Keys(members))
			wantNames := map[string][]string{
				"RSA": {"alg", "e", "kid", "kty", "n", "use"},
				"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
				"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
			}[members["kty"]]
			if !slices.Equal(names, wantNames) {
				t.Errorf("JWK members = %v, want %v", names, wantNames)
			}
			if members["alg"] != string(spec.Algorithm) || members["use"] != "sig" || members["kid"] != m.Kid {
				t.Errorf("JWK alg=%q use=%q kid=%q", members["alg"], members["use"], members["kid"])
			}
			if got := rfc7638(t, members); got != m.Kid {
				t.Errorf("kid = %s, RFC 7638 thumbprint = %s", m.Kid, got)
			}
			if spec.Algorithm == ES256 || spec.Algorithm == EdDSA {
				for _, c := range []string{"x", "y"} {
					if v, ok := members[c]; ok {
						if b, _ := base64.RawURLEncoding.DecodeString(v); len(b) != 32 {
							t.Errorf("%s is %d bytes, want 32", c, len(b))
						}
					}
				}
			}

			// The JWK rebuilt from the PEM is the one generated.
			rebuilt, err := PublicJWKFromPEM(m.PublicPEM, spec.Algorithm, m.Kid)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rebuilt, m.PublicJWK) {
				t.Errorf("rebuilt JWK %s\n differs from %s", rebuilt, m.PublicJWK)
			}
		})
	}
}

// rfc7638 computes a JWK thumbprint from the JSON members, independently of
// jwx: SHA-256 of the required members, sorted, without whitespace.
func rfc7638(t *testing.T, members map[string]string) string {
	t.Helper()
	required := map[string][]string{"RSA": {"e", "kty", "n"}, "EC": {"crv", "kty", "x", "y"}, "OKP": {"crv", "kty", "x"}}[members["kty"]]
	if required == nil {
		t.Fatalf("unknown kty %q", members["kty"])
	}
	parts := make([]string, len(required))
	for i, name := range required {
		parts[i] = fmt.Sprintf("%q:%q", name, members[name])
	}
	sum := sha256.Sum256([]byte("{" + strings.Join(parts, ",") + "}"))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestRFC7638Vector(t *testing.T) {
	// RFC 7638 §3.1.
	members := map[string]string{
		"kty": "RSA",
		"e":   "AQAB",
		"n":   "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
	}
	if got := rfc7638(t, members); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint = %s", got)
	}
}

func TestPublicJWKFromPEMRejects(t *testing.T) {
	t.Parallel()
	ec := material(t, Spec{ES256, 0})
	ed := material(t, Spec{EdDSA, 0})
	privatePEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec.PrivateDER})
	cases := map[string]struct {
		pem []byte
		alg Algorithm
		kid string
	}{
		"EC key as RS256":    {ec.PublicPEM, RS256, ec.Kid},
		"EC key as EdDSA":    {ec.PublicPEM, EdDSA, ec.Kid},
		"Ed25519 as ES256":   {ed.PublicPEM, ES256, ed.Kid},
		"unknown algorithm":  {ec.PublicPEM, "HS256", ec.Kid},
		"private key PEM":    {privatePEM, ES256, ec.Kid},
		"not PEM":            {[]byte("hello"), ES256, ec.Kid},
		"empty kid":          {ec.PublicPEM, ES256, ""},
		"corrupt key in PEM": {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), ES256, "k"},
	}
	for name, tc := range cases {
		if got, err := PublicJWKFromPEM(tc.pem, tc.alg, tc.kid); err == nil {
			t.Errorf("%s: accepted, got %s", name, got)
		}
	}
}

func TestMaterialFormatRedacts(t *testing.T) {
	t.Parallel()
	m := material(t, Spec{ES256, 0})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{m, *m} {
			if got, want := fmt.Sprintf(verb, v), "Material("+m.Kid+")"; got != want {
				t.Errorf("Sprintf(%s) = %q, want %q", verb, got, want)
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["PrivateDER"]; ok {
		t.Error("JSON of Material has PrivateDER")
	}
	if _, ok := fields["Signer"]; ok {
		t.Error("JSON of Material has Signer")
	}
}
