package keycrypto

import "testing"

// benchSpecs is one spec per algorithm at its default size, plus the larger
// RSA sizes for Generate, where the cost grows fastest.
var benchSpecs = []Spec{{RS256, 2048}, {PS256, 2048}, {ES256, 0}, {EdDSA, 0}}

func BenchmarkGenerate(b *testing.B) {
	for _, spec := range append(benchSpecs, Spec{RS256, 3072}, Spec{RS256, 4096}) {
		b.Run(specName(spec), func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	payload := []byte(`{"iss":"https://iam.example","sub":"0190f3c4-0000-7000-8000-000000000001","aud":"api","exp":1900000000,"iat":1800000000}`)
	for _, spec := range benchSpecs {
		b.Run(specName(spec), func(b *testing.B) {
			m := material(b, spec)
			for b.Loop() {
				if _, err := SignJWT(m.Signer, spec.Algorithm, m.Kid, payload, "at+jwt"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenSigner measures decrypting and parsing a stored key, the cost a
// signing operation pays per token unless it caches the Signer.
func BenchmarkOpenSigner(b *testing.B) {
	kr := testKeyring(b)
	aad := []byte("row-1")
	for _, spec := range benchSpecs {
		b.Run(specName(spec), func(b *testing.B) {
			sealed, id, err := kr.Seal(material(b, spec).PrivateDER, aad)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := kr.OpenSigner(sealed, id, aad, spec.Algorithm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
