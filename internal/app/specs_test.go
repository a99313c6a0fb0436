package app_test

import (
	"testing"
)

// The idempotency middleware keeps each answer for a day to replay it, in
// the database, in the clear. An answer that must not be stored
// (Cache-Control: no-store: a secret shown once, a token) therefore cannot
// come from an operation that takes an Idempotency-Key.
func TestNoIdempotentOperationAnswersASecret(t *testing.T) {
	checked := 0
	for _, s := range specs {
		doc, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				idempotent := false
				for _, p := range append(item.Parameters, op.Parameters...) {
					if p.Value.In == "header" && p.Value.Name == "Idempotency-Key" {
						idempotent = true
					}
				}
				if !idempotent {
					continue
				}
				checked++
				for status, resp := range op.Responses.Map() {
					if resp.Value != nil && resp.Value.Headers["Cache-Control"] != nil {
						t.Errorf("%s %s%s takes an Idempotency-Key and answers %s with Cache-Control: its answer would be stored",
							method, s.prefix, path, status)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no operation takes an Idempotency-Key: the check checked nothing")
	}
}
