package keycrypto

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrUnknownMasterKey means a ciphertext was sealed under a master key
	// that is not configured: an operator removed a previous key too early.
	ErrUnknownMasterKey = errors.New("keycrypto: unknown master key")
	// ErrCiphertext means authentication failed: the ciphertext was corrupted
	// or tampered with, or it was sealed for another row (different aad).
	ErrCiphertext = errors.New("keycrypto: ciphertext does not authenticate")
)

// MasterKey is a 256-bit key that encrypts signing keys at rest. Its ID is
// stored next to every ciphertext so that a key can be rotated while rows
// sealed under the previous one remain readable. The ID is derived from the
// key by a one-way hash, so it identifies the key without revealing it, and
// the same key always gets the same ID on every replica.
type MasterKey struct {
	ID  string
	key [32]byte
}

// ParseMasterKey decodes a master key given as standard base64 of exactly 32
// bytes, e.g. the output of `openssl rand -base64 32`. Surrounding whitespace
// (a trailing newline in a mounted secret file) is ignored. Errors never
// contain the input, which is a secret.
func ParseMasterKey(b64 string) (MasterKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	defer clear(raw)
	if err != nil {
		return MasterKey{}, fmt.Errorf("keycrypto: master key is not standard base64: %w", err)
	}
	if len(raw) != 32 {
		return MasterKey{}, fmt.Errorf("keycrypto: master key must be 32 bytes, got %d (generate one with `openssl rand -base64 32`)", len(raw))
	}
	var mk MasterKey
	copy(mk.key[:], raw)
	if mk.key == [32]byte{} {
		return MasterKey{}, errors.New("keycrypto: master key is all zero bytes")
	}
	mk.ID = masterKeyID(mk.key)
	return mk, nil
}

func masterKeyID(key [32]byte) string {
	h := sha256.New()
	h.Write([]byte("saas master key id"))
	h.Write(key[:])
	return "mk_" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Format prints only the ID, so the key cannot leak through fmt or slog.
func (m MasterKey) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "MasterKey(%s)", m.ID) }

// aead returns AES-256-GCM with a random 96-bit nonce prepended to each
// ciphertext. Random nonces are safe here: the birthday bound of 2^32
// messages per master key is far beyond the number of signing keys.
func (m MasterKey) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(m.key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// Keyring seals under the current master key and opens under any configured
// one, which is what rotation needs: add a new current key, keep the old one
// as previous until every row has been resealed, then drop it.
type Keyring struct {
	current MasterKey
	all     map[string]MasterKey
}

// NewKeyring returns a keyring sealing under current and also opening
// ciphertexts of the previous keys. Keys must come from [ParseMasterKey]; a
// zero MasterKey or one whose ID was altered is refused, since sealing under
// it would store an ID that cannot open the ciphertext.
func NewKeyring(current MasterKey, previous ...MasterKey) (*Keyring, error) {
	k := &Keyring{current: current, all: make(map[string]MasterKey, 1+len(previous))}
	for _, mk := range append([]MasterKey{current}, previous...) {
		if mk.key == [32]byte{} || mk.ID != masterKeyID(mk.key) {
			return nil, errors.New("keycrypto: master key not made by ParseMasterKey")
		}
		k.all[mk.ID] = mk
	}
	return k, nil
}

// Derive returns a 256-bit secret for purpose, derived from the current master
// key with HKDF-SHA256, so other mechanisms get keys of their own without
// another secret to configure. It changes when the master key is rotated.
func (k *Keyring) Derive(purpose string) []byte { return derive(k.current, purpose) }

func derive(mk MasterKey, purpose string) []byte {
	key, err := hkdf.Key(sha256.New, mk.key[:], nil, "saas/"+purpose, 32)
	if err != nil {
		panic(err) // only for a length HKDF cannot produce; 32 bytes always works
	}
	return key
}

// Format prints only master key IDs.
func (k *Keyring) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "Keyring(current=%s, keys=%d)", k.current.ID, len(k.all))
}

// Seal encrypts plaintext under the current master key and returns the
// ciphertext with that key's ID, to be stored together. aad is required and
// should identify the row (its id): it is authenticated but not stored, so a
// ciphertext copied into another row fails to open.
func (k *Keyring) Seal(plaintext, aad []byte) (ciphertext []byte, masterKeyID string, err error) {
	if len(aad) == 0 {
		return nil, "", errors.New("keycrypto: aad must identify the row")
	}
	aead, err := k.current.aead()
	if err != nil {
		return nil, "", err
	}
	return aead.Seal(nil, nil, plaintext, aad), k.current.ID, nil
}

// Open decrypts a ciphertext made by Seal. It fails with ErrUnknownMasterKey
// when masterKeyID is not in the keyring and with ErrCiphertext when the
// ciphertext or aad is not the one that was sealed.
func (k *Keyring) Open(ciphertext []byte, masterKeyID string, aad []byte) ([]byte, error) {
	mk, ok := k.all[masterKeyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownMasterKey, masterKeyID)
	}
	aead, err := mk.aead()
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, ErrCiphertext
	}
	return plaintext, nil
}

// CurrentID names the master key that Seal uses now.
func (k *Keyring) CurrentID() string { return k.current.ID }

// Has reports whether the keyring holds the master key with this ID, that
// is whether it can open ciphertexts sealed under it.
func (k *Keyring) Has(masterKeyID string) bool {
	_, ok := k.all[masterKeyID]
	return ok
}

// Reseal re-encrypts a ciphertext under the current master key, so the
// re-encryption command never handles the plaintext itself.
func (k *Keyring) Reseal(ciphertext []byte, masterKeyID string, aad []byte) ([]byte, string, error) {
	plaintext, err := k.Open(ciphertext, masterKeyID, aad)
	if err != nil {
		return nil, "", err
	}
	defer clear(plaintext)
	return k.Seal(plaintext, aad)
}

// OpenSigner is the one place a stored signing key is decrypted for use. It
// opens the ciphertext, parses the PKCS #8 key, checks that the key is of the
// kind alg requires (so a row cannot sign with an algorithm its published JWK
// does not declare) and wipes the decrypted DER. The returned Signer still
// holds the key in memory; callers keep it no longer than they need it.
func (k *Keyring) OpenSigner(ciphertext []byte, masterKeyID string, aad []byte, alg Algorithm) (crypto.Signer, error) {
	der, err := k.Open(ciphertext, masterKeyID, aad)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keycrypto: sealed key is not PKCS #8: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keycrypto: sealed %T cannot sign", key)
	}
	if err := alg.accepts(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}
