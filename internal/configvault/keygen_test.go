package configvault_test

import (
	"context"
	"testing"
	"time"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
)

// While every RSA generation slot stays busy past the bound, an RSA create
// is answered 503 with Retry-After (as the spec declares), and curve keys
// are created all the same.
func TestBusyRSAGenerationIs503WithRetryAfter(t *testing.T) {
	e := newEnv(t)
	ten := e.tenant("busy")
	release := configvault.HoldRSASlots(e.svc, time.Millisecond)
	defer release()

	// The deadline only turns a regression (waiting for ever) into a failure.
	guard, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := e.c.CreateKeyWithResponse(guard, nil, client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(client.RS256)})
	if err != nil {
		t.Fatal(err)
	}
	status(t, r.StatusCode(), 503, r.Body)
	if ra := r.HTTPResponse.Header.Get("Retry-After"); ra != "5" || r.ApplicationproblemJSON503 == nil {
		t.Fatalf("Retry-After %q, body %s", ra, r.Body)
	}
	for _, alg := range []client.KeyAlgorithm{client.ES256, client.EdDSA} {
		e.key(client.SigningKeyCreate{TenantId: ten.Id, Algorithm: ptr(alg)})
	}
}
