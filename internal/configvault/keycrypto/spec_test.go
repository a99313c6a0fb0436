package keycrypto

import (
	"errors"
	"testing"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestParseSpec(t *testing.T) {
	size := func(n int) *int { return &n }
	valid := []struct {
		alg     string
		keySize *int
		want    Spec
	}{
		{"", nil, Spec{RS256, 2048}},
		{"", size(3072), Spec{RS256, 3072}},
		{"RS256", nil, Spec{RS256, 2048}},
		{"RS256", size(4096), Spec{RS256, 4096}},
		{"PS256", nil, Spec{PS256, 2048}},
		{"PS256", size(3072), Spec{PS256, 3072}},
		{"ES256", nil, Spec{ES256, 0}},
		{"EdDSA", nil, Spec{EdDSA, 0}},
	}
	for _, tc := range valid {
		got, err := ParseSpec(tc.alg, tc.keySize)
		if err != nil || got != tc.want {
			t.Errorf("ParseSpec(%q, %v) = %v, %v; want %v", tc.alg, tc.keySize, got, err, tc.want)
		}
		if !got.valid() {
			t.Errorf("ParseSpec(%q, %v) returned an invalid spec %v", tc.alg, tc.keySize, got)
		}
	}

	invalid := []struct {
		alg     string
		keySize *int
		field   string
	}{
		{"HS256", nil, "body.algorithm"}, // symmetric: never for these tokens
		{"none", nil, "body.algorithm"},
		{"rs256", nil, "body.algorithm"}, // alg names are case-sensitive
		{"ES384", nil, "body.algorithm"},
		{"RS256", size(1024), "body.key_size"},
		{"PS256", size(2049), "body.key_size"},
		{"", size(0), "body.key_size"},
		{"ES256", size(256), "body.key_size"},
		{"EdDSA", size(2048), "body.key_size"},
	}
	for _, tc := range invalid {
		_, err := ParseSpec(tc.alg, tc.keySize)
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Kind != problem.KindInvalid || len(pe.Fields) != 1 || pe.Fields[0].Field != tc.field {
			t.Errorf("ParseSpec(%q, %v) error = %#v; want problem.Invalid on %s", tc.alg, tc.keySize, err, tc.field)
		}
	}
}

func TestGenerateRejectsInvalidSpec(t *testing.T) {
	for _, s := range []Spec{{}, {RS256, 1024}, {ES256, 2048}, {"HS256", 0}} {
		if _, err := Generate(s); err == nil {
			t.Errorf("Generate(%v) succeeded", s)
		}
	}
}
