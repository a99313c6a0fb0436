package keycrypto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var masterKeyIDPattern = regexp.MustCompile(`^mk_[0-9a-f]{16}$`)

func TestParseMasterKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA7}, 32)
	b64 := base64.StdEncoding.EncodeToString(raw)

	mk, err := ParseMasterKey(b64 + "\n") // as read from a mounted secret file
	if err != nil {
		t.Fatal(err)
	}
	if !masterKeyIDPattern.MatchString(mk.ID) || mk.key != [32]byte(raw) {
		t.Fatalf("ParseMasterKey = %s", mk.ID)
	}
	again, _ := ParseMasterKey(b64)
	if again.ID != mk.ID {
		t.Fatal("master key ID is not deterministic")
	}
	if testMasterKey.ID == mk.ID {
		t.Fatal("different keys share an ID")
	}

	for _, bad := range []string{
		"",
		"not base64!",
		base64.StdEncoding.EncodeToString(raw[:16]),         // AES-128 key: too short
		base64.StdEncoding.EncodeToString(append(raw, 0)),   // 33 bytes
		base64.RawURLEncoding.EncodeToString(raw),           // not standard base64
		base64.StdEncoding.EncodeToString(make([]byte, 32)), // all zero: a placeholder, not a key
		"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==",  // a passphrase, 34 bytes
		strings.Repeat("A", 43) + "=extra",
	} {
		_, err := ParseMasterKey(bad)
		if err == nil {
			t.Errorf("ParseMasterKey(%q) succeeded", bad)
			continue
		}
		if len(bad) > 8 && strings.Contains(err.Error(), bad) {
			t.Errorf("error %q reveals the input", err)
		}
	}
}

func TestMasterKeyFormatRedacts(t *testing.T) {
	kr := testKeyring(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if got, want := fmt.Sprintf(verb, testMasterKey), "MasterKey("+testMasterKey.ID+")"; got != want {
			t.Errorf("Sprintf(%s, key) = %q, want %q", verb, got, want)
		}
		if got, want := fmt.Sprintf(verb, kr), "Keyring(current="+testMasterKey.ID+", keys=1)"; got != want {
			t.Errorf("Sprintf(%s, keyring) = %q, want %q", verb, got, want)
		}
	}
}

func TestNewKeyringRejectsForgedKeys(t *testing.T) {
	renamed := testMasterKey
	renamed.ID = "mk_0000000000000000"
	for name, mk := range map[string]MasterKey{"zero": {}, "zero key with an ID": {ID: testMasterKey.ID}, "renamed": renamed} {
		if _, err := NewKeyring(mk); err == nil {
			t.Errorf("NewKeyring(%s) as current succeeded", name)
		}
		if _, err := NewKeyring(testMasterKey, mk); err == nil {
			t.Errorf("NewKeyring(%s) as previous succeeded", name)
		}
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t)
	der := material(t, Spec{ES256, 0}).PrivateDER
	aad := []byte("0190f3c4-0000-7000-8000-000000000001")

	a, idA, err := kr.Seal(der, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, idB, err := kr.Seal(der, aad)
	if err != nil {
		t.Fatal(err)
	}
	if idA != testMasterKey.ID || idB != idA {
		t.Fatalf("sealed under %s and %s, want %s", idA, idB, testMasterKey.ID)
	}
	if bytes.Equal(a, b) {
		t.Fatal("sealing the same plaintext twice gave the same ciphertext")
	}
	if len(a) != len(der)+12+16 {
		t.Fatalf("ciphertext is %d bytes for %d of plaintext; want nonce+plaintext+tag", len(a), len(der))
	}
	if bytes.Contains(a, []byte("PRIVATE KEY")) || bytes.Contains(a, der[len(der)-16:]) {
		t.Fatal("ciphertext contains plaintext")
	}
	got, err := kr.Open(a, idA, aad)
	if err != nil || !bytes.Equal(got, der) {
		t.Fatalf("Open = %x, %v", got, err)
	}

	if _, _, err := kr.Seal(der, nil); err == nil {
		t.Fatal("Seal without aad succeeded")
	}

	tampered := func(i int) []byte {
		c := bytes.Clone(a)
		c[i] ^= 1
		return c
	}
	for name, tc := range map[string]struct {
		ciphertext []byte
		aad        []byte
	}{
		"other row's aad":  {a, []byte("0190f3c4-0000-7000-8000-000000000002")},
		"no aad":           {a, nil},
		"tampered nonce":   {tampered(0), aad},
		"tampered body":    {tampered(12 + len(der)/2), aad},
		"tampered tag":     {tampered(len(a) - 1), aad},
		"truncated":        {a[:len(a)-1], aad},
		"shorter than tag": {a[:20], aad},
		"empty":            {nil, aad},
	} {
		if _, err := kr.Open(tc.ciphertext, idA, tc.aad); !errors.Is(err, ErrCiphertext) {
			t.Errorf("%s: Open error = %v, want ErrCiphertext", name, err)
		}
	}

	other, err := NewKeyring(mustMasterKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(a, idA, aad); !errors.Is(err, ErrUnknownMasterKey) || !strings.Contains(err.Error(), idA) {
		t.Fatalf("Open under another master key: %v, want ErrUnknownMasterKey naming %s", err, idA)
	}
	if _, err := kr.OpenSigner(a, "", aad, ES256); !errors.Is(err, ErrUnknownMasterKey) {
		t.Fatalf("OpenSigner with an empty master key id: %v", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := testKeyring(t)
	der := material(t, Spec{EdDSA, 0}).PrivateDER
	aad := []byte("row-1")
	sealed, oldID, err := old.Seal(der, aad)
	if err != nil {
		t.Fatal(err)
	}

	next := mustMasterKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32)))
	kr, err := NewKeyring(next, testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if !kr.Has(oldID) || !kr.Has(next.ID) || !old.Has(oldID) || old.Has(next.ID) || kr.Has("") {
		t.Fatal("Has is wrong")
	}
	resealed, newID, err := kr.Reseal(sealed, oldID, aad)
	if err != nil {
		t.Fatal(err)
	}
	if newID != next.ID || newID != kr.CurrentID() {
		t.Fatalf("resealed under %s, want %s", newID, next.ID)
	}
	if _, err := kr.OpenSigner(resealed, newID, aad, EdDSA); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.OpenSigner(sealed, oldID, aad, EdDSA); err != nil {
		t.Fatalf("the previous master key no longer opens: %v", err)
	}
	if _, err := old.Open(resealed, newID, aad); !errors.Is(err, ErrUnknownMasterKey) {
		t.Fatalf("old keyring opened the resealed key: %v", err)
	}
	if _, _, err := kr.Reseal(sealed, oldID, []byte("row-2")); !errors.Is(err, ErrCiphertext) {
		t.Fatalf("Reseal with another row's aad: %v", err)
	}
}

func TestOpenSignerChecksKeyType(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t)
	aad := []byte("row")
	for _, tc := range []struct {
		key Spec
		alg Algorithm
	}{
		{Spec{ES256, 0}, RS256},
		{Spec{ES256, 0}, EdDSA},
		{Spec{EdDSA, 0}, ES256},
		{Spec{RS256, 2048}, EdDSA},
		{Spec{RS256, 2048}, ES256},
		{Spec{RS256, 2048}, "HS256"},
	} {
		sealed, id, err := kr.Seal(material(t, tc.key).PrivateDER, aad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kr.OpenSigner(sealed, id, aad, tc.alg); err == nil {
			t.Errorf("a %s key opened as %s", specName(tc.key), tc.alg)
		}
	}
	sealed, id, err := kr.Seal([]byte("-----BEGIN PRIVATE KEY-----"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.OpenSigner(sealed, id, aad, ES256); err == nil {
		t.Error("OpenSigner accepted a non-PKCS #8 plaintext")
	}
}

func TestSignJWTRejects(t *testing.T) {
	t.Parallel()
	m := material(t, Spec{ES256, 0})
	claims := []byte(`{"sub":"u"}`)
	for name, tc := range map[string]struct {
		alg      Algorithm
		kid, typ string
		payload  []byte
	}{
		"no kid":             {ES256, "", "at+jwt", claims},
		"no typ":             {ES256, m.Kid, "", claims},
		"wrong algorithm":    {RS256, m.Kid, "at+jwt", claims},
		"none":               {"none", m.Kid, "at+jwt", claims},
		"payload not JSON":   {ES256, m.Kid, "at+jwt", []byte("hello")},
		"payload JSON array": {ES256, m.Kid, "at+jwt", []byte(` ["sub"]`)},
	} {
		if _, err := SignJWT(m.Signer, tc.alg, tc.kid, tc.payload, tc.typ); err == nil {
			t.Errorf("%s: SignJWT succeeded", name)
		}
	}
}
