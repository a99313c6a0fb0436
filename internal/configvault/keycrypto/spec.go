// Package keycrypto is the cryptography of the Config Vault's signing keys:
// choosing and generating key pairs, publishing their public halves as PEM and
// JWK, sealing the private halves under a master key, and opening them again
// to sign.
//
// Private keys leave this package only as AES-256-GCM ciphertext or as a
// crypto.Signer held in memory. [Keyring.OpenSigner] is the single place
// where a stored key is decrypted for signing, so the rules for that step
// (the ciphertext belongs to this row, the key type matches the declared
// algorithm, the plaintext is wiped) are written once.
package keycrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Algorithm is a JWS signature algorithm ("alg", RFC 7518) that a signing key
// is bound to. The list is an allowlist (RFC 8725 §3.1): only asymmetric
// algorithms, so that verifiers never hold a secret able to mint tokens.
type Algorithm string

const (
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256: the one every JWT library accepts
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// DefaultRSAKeySize is used when an RSA algorithm is chosen without a size:
// 2048 bits is the smallest size still recommended and the cheapest to sign with.
const DefaultRSAKeySize = 2048

// rsaKeySizes are the accepted RSA modulus sizes, smallest first; the pool
// refills in this order because small keys are both cheaper and more common.
var rsaKeySizes = []int{2048, 3072, 4096}

// Spec is a validated choice of algorithm and, for RSA, modulus size.
type Spec struct {
	Algorithm Algorithm
	KeySize   int // RSA modulus in bits; 0 for ES256 and EdDSA, whose size is fixed by the curve
}

// RSA reports whether the spec is an RSA key, whose generation costs from
// about 0.1 s (2048 bits) to seconds (4096 bits) of CPU; ES256 and EdDSA
// keys take microseconds.
func (s Spec) RSA() bool { return s.Algorithm == RS256 || s.Algorithm == PS256 }

// ParseSpec validates the algorithm and key size of a create-key request.
// An empty alg means RS256 because it is what every verifier supports; a nil
// keySize means DefaultRSAKeySize for RSA. A key size given for a curve-based
// algorithm is rejected rather than ignored, so the client learns it had no
// effect. Errors are problem.Invalid naming body.algorithm or body.key_size.
func ParseSpec(alg string, keySize *int) (Spec, error) {
	a := Algorithm(alg)
	if a == "" {
		a = RS256
	}
	switch a {
	case RS256, PS256:
		if keySize == nil {
			return Spec{Algorithm: a, KeySize: DefaultRSAKeySize}, nil
		}
		if !slices.Contains(rsaKeySizes, *keySize) {
			return Spec{}, invalid("body.key_size", "must be 2048, 3072 or 4096")
		}
		return Spec{Algorithm: a, KeySize: *keySize}, nil
	case ES256, EdDSA:
		if keySize != nil {
			return Spec{}, invalid("body.key_size", "applies only to RS256 and PS256; omit it for "+alg)
		}
		return Spec{Algorithm: a}, nil
	}
	return Spec{}, invalid("body.algorithm", "must be one of RS256, PS256, ES256, EdDSA")
}

func invalid(field, message string) error {
	return problem.Invalid("the signing key specification is invalid",
		problem.FieldError{Field: field, Message: message})
}

func (s Spec) valid() bool {
	switch s.Algorithm {
	case RS256, PS256:
		return slices.Contains(rsaKeySizes, s.KeySize)
	case ES256, EdDSA:
		return s.KeySize == 0
	}
	return false
}

// accepts reports whether pub is a key that alg may be used with. Checking
// this wherever a key meets an algorithm keeps a row whose alg column and key
// disagree from producing tokens that no JWKS entry can verify.
func (a Algorithm) accepts(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if (a == RS256 || a == PS256) && slices.Contains(rsaKeySizes, k.N.BitLen()) {
			return nil
		}
	case *ecdsa.PublicKey:
		if a == ES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case ed25519.PublicKey:
		if a == EdDSA {
			return nil
		}
	}
	return fmt.Errorf("keycrypto: a %T cannot be used with %q", pub, string(a))
}
