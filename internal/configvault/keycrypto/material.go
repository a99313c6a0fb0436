package keycrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Material is a freshly generated key pair in every form the Config Vault
// needs: PrivateDER is sealed with [Keyring.Seal] and stored, PublicPEM and
// PublicJWK are stored and published, and Kid names the key in JWT headers.
//
// Material holds the private key, so it is meant to live only between
// generation and storage. It formats as "Material(kid)" and omits the private
// fields from JSON, so logging it by mistake reveals nothing.
type Material struct {
	Spec       Spec
	Kid        string          // RFC 7638 SHA-256 thumbprint of the public JWK, base64url without padding
	Signer     crypto.Signer   `json:"-"`
	PrivateDER []byte          `json:"-"` // PKCS #8
	PublicPEM  []byte          // PKIX "PUBLIC KEY" block
	PublicJWK  json.RawMessage // kty, kid, alg, use "sig" and the public parameters only
}

// Format redacts the private key from every fmt verb.
func (m Material) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "Material(%s)", m.Kid) }

// Generate creates a key pair for spec inline. RSA generation takes from
// about 0.1 s (2048 bits) to seconds (4096 bits); servers use a [Pool].
func Generate(spec Spec) (*Material, error) {
	return (*Pool)(nil).Generate(spec)
}

// Generate creates a key pair for spec, taking a pre-generated RSA key from
// the pool when one is ready and generating inline otherwise. A nil pool
// always generates inline.
func (p *Pool) Generate(spec Spec) (*Material, error) {
	if !spec.valid() {
		return nil, fmt.Errorf("keycrypto: invalid spec %q/%d", string(spec.Algorithm), spec.KeySize)
	}
	var signer crypto.Signer
	var err error
	switch spec.Algorithm {
	case RS256, PS256:
		signer, err = p.rsaKey(spec.KeySize)
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("keycrypto: generate %s key: %w", spec.Algorithm, err)
	}
	return newMaterial(spec, signer)
}

func newMaterial(spec Spec, signer crypto.Signer) (*Material, error) {
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("keycrypto: encode public key: %w", err)
	}
	key, err := publicKeyJWK(signer.Public(), spec.Algorithm)
	if err != nil {
		return nil, err
	}
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(sum)
	jwkJSON, err := marshalJWK(key, kid)
	if err != nil {
		return nil, err
	}
	return &Material{
		Spec:       spec,
		Kid:        kid,
		Signer:     signer,
		PrivateDER: der,
		PublicPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
		PublicJWK:  jwkJSON,
	}, nil
}

// PublicJWKFromPEM derives the JWK that [Generate] publishes for a key from
// its PublicPEM, algorithm and kid, independently of the Material. The
// Config Vault stores both forms (public_key_pem and public_jwk, written
// together from one Material) and serves each as stored; this function is
// the oracle its tests use to check that the two describe the same key, and
// it refuses a PEM that does not fit the algorithm.
func PublicJWKFromPEM(pemBytes []byte, alg Algorithm, kid string) (json.RawMessage, error) {
	if kid == "" {
		return nil, errors.New("keycrypto: kid is empty")
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New(`keycrypto: no "PUBLIC KEY" PEM block`)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: parse public key: %w", err)
	}
	if err := alg.accepts(pub); err != nil {
		return nil, err
	}
	key, err := publicKeyJWK(pub, alg)
	if err != nil {
		return nil, err
	}
	return marshalJWK(key, kid)
}

// publicKeyJWK converts a public key, never a private one, so that the
// private parameters cannot end up in a published JWK.
func publicKeyJWK(pub crypto.PublicKey, alg Algorithm) (jwk.Key, error) {
	key, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: public JWK: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return nil, fmt.Errorf("keycrypto: public JWK: %w", err)
	}
	if err := key.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("keycrypto: public JWK: %w", err)
	}
	return key, nil
}

func marshalJWK(key jwk.Key, kid string) (json.RawMessage, error) {
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, fmt.Errorf("keycrypto: public JWK: %w", err)
	}
	b, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: public JWK: %w", err)
	}
	return b, nil
}
