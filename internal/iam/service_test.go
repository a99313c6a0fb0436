package iam_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwk"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/dbtest"
)

func TestNewServiceChecksOptions(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t, iam.Migrations)
	users, err := uamclient.NewClientWithResponses("http://uam.invalid")
	must(t, err)
	vault, err := cvclient.NewClientWithResponses("http://config-vault.invalid")
	must(t, err)
	verifier, err := authn.New(authn.Options{Audience: "http://localhost:8000", IssuerPrefix: authn.DefaultIssuerPrefix("http://localhost:8000"),
		Keys: authn.KeySourceFunc(func(context.Context, uuid.UUID) (jwk.Set, error) { return jwk.NewSet(), nil })})
	must(t, err)
	valid := iam.Options{PublicURL: "http://localhost:8000/", PlatformTenantID: uuid.Must(uuid.NewV7()), Verifier: verifier}
	if _, err := iam.NewService(pool, users, vault, valid); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for name, change := range map[string]func(*iam.Options){
		"no public URL":       func(o *iam.Options) { o.PublicURL = "" },
		"no scheme":           func(o *iam.Options) { o.PublicURL = "localhost:8000" },
		"not http":            func(o *iam.Options) { o.PublicURL = "ftp://localhost" },
		"a query":             func(o *iam.Options) { o.PublicURL = "http://localhost:8000/?x=1" },
		"no platform tenant":  func(o *iam.Options) { o.PlatformTenantID = uuid.Nil },
		"negative TTL":        func(o *iam.Options) { o.AccessTokenTTL = -time.Minute },
		"TTL over a day":      func(o *iam.Options) { o.AccessTokenTTL = 25 * time.Hour },
		"no verifier":         func(o *iam.Options) { o.Verifier = nil },
		"bad refresh config":  func(o *iam.Options) { o.Refresh.IdleLifetime = 2 * iam.DefaultRefreshAbsolute },
		"bad throttle config": func(o *iam.Options) { o.Throttle.Account = iam.ThrottlePolicy{Base: time.Minute, Cap: time.Second} },
	} {
		o := valid
		change(&o)
		if _, err := iam.NewService(pool, users, vault, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
