package keycrypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// FuzzOpen feeds arbitrary ciphertexts and aad to Open, which must never
// panic nor accept anything but the genuine pair, and arbitrary plaintexts
// through Seal to OpenSigner, which must never panic nor return a key that
// does not match the algorithm.
func FuzzOpen(f *testing.F) {
	kr := testKeyring(f)
	// A fixed ciphertext, because seeds are shared with fuzzing worker
	// processes, which would each seal a different one.
	genuine, _ := hex.DecodeString("9e0d34aaad4fa748cb76d63770b3d78627edcbbf57928ddccb545b794003344d6d69d08741237faf336cde8a")
	genuineAAD := []byte("row-1")
	if pt, err := kr.Open(genuine, testMasterKey.ID, genuineAAD); err != nil || string(pt) != "sealed in a test" {
		f.Fatalf("genuine ciphertext: %q, %v", pt, err)
	}
	f.Add(genuine, genuineAAD)
	f.Add([]byte{}, []byte{})
	f.Add(genuine[:28], genuineAAD)
	f.Add(material(f, Spec{ES256, 0}).PrivateDER, []byte("row-2"))

	f.Fuzz(func(t *testing.T, ciphertext, aad []byte) {
		if _, err := kr.Open(ciphertext, testMasterKey.ID, aad); err == nil && !(bytes.Equal(ciphertext, genuine) && bytes.Equal(aad, genuineAAD)) {
			t.Fatalf("Open accepted a forged ciphertext %x (aad %q)", ciphertext, aad)
		}
		sealed, id, err := kr.Seal(ciphertext, aad)
		if err != nil {
			return // empty aad
		}
		for _, alg := range []Algorithm{RS256, PS256, ES256, EdDSA} {
			if signer, err := kr.OpenSigner(sealed, id, aad, alg); err == nil {
				if err := alg.accepts(signer.Public()); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// FuzzParseMasterKey checks that ParseMasterKey never panics and that every
// key it accepts has a well-formed ID and works.
func FuzzParseMasterKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	f.Add(" " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)) + "\r\n")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, b64 string) {
		mk, err := ParseMasterKey(b64)
		if err != nil {
			return
		}
		if !masterKeyIDPattern.MatchString(mk.ID) {
			t.Fatalf("ID %q", mk.ID)
		}
		canonical, err := ParseMasterKey(base64.StdEncoding.EncodeToString(mk.key[:]))
		if err != nil || canonical != mk {
			t.Fatalf("canonical encoding parses to %v, %v", canonical, err)
		}
		kr, err := NewKeyring(mk)
		if err != nil {
			t.Fatal(err)
		}
		sealed, id, err := kr.Seal([]byte("x"), []byte("row"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := kr.Open(sealed, id, []byte("row")); err != nil || string(pt) != "x" {
			t.Fatalf("round trip: %q, %v", pt, err)
		}
	})
}
