package configvault_test

import (
	"strings"
	"sync"
	"testing"

	client "github.com/saasplatform/saas/gen/client/configvault"
)

// A hostname belongs to one tenant: its own domain or its sites' domains,
// never another tenant's.
func TestAHostnameBelongsToOneTenant(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant("a"), e.tenant("b")

	// A tenant's main site may use the tenant's own domain.
	own, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: a.Id, Name: "main", Domain: strings.ToUpper(a.Domain)})
	status(t, own.StatusCode(), 201, own.Body)

	// Another tenant may not, whichever way round.
	theirs, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: b.Id, Name: "stolen", Domain: a.Domain})
	status(t, theirs.StatusCode(), 409, theirs.Body)
	bSite := e.site(b.Id, "b-site")
	moved, _ := e.c.UpdateSiteWithResponse(ctx, bSite.Id, nil, client.SiteUpdate{Domain: &a.Domain})
	status(t, moved.StatusCode(), 409, moved.Body)
	renamed, _ := e.c.UpdateTenantWithResponse(ctx, a.Id, nil, client.TenantUpdate{Domain: &bSite.Domain})
	status(t, renamed.StatusCode(), 409, renamed.Body)
	taken, _ := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "c", Domain: bSite.Domain})
	status(t, taken.StatusCode(), 409, taken.Body)

	// A tenant may take a domain its own site uses.
	mine, _ := e.c.UpdateTenantWithResponse(ctx, b.Id, nil, client.TenantUpdate{Domain: &bSite.Domain})
	status(t, mine.StatusCode(), 200, mine.Body)
}

// A tenant and another tenant's site claiming one hostname at once: exactly one wins.
func TestConcurrentClaimsOfOneHostname(t *testing.T) {
	e := newEnv(t)
	owner := e.tenant("owner")
	for round := range 5 {
		domain := uniqueDomain("claim")
		var wg sync.WaitGroup
		codes := make([]int, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "rival", Domain: domain})
			if err == nil {
				codes[0] = r.StatusCode()
			}
		}()
		go func() {
			defer wg.Done()
			r, err := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: owner.Id, Name: "site", Domain: domain})
			if err == nil {
				codes[1] = r.StatusCode()
			}
		}()
		wg.Wait()
		if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
			t.Fatalf("round %d: tenant %d, site %d; want exactly one 201 and one 409", round, codes[0], codes[1])
		}
	}
}
