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

// Duplicates within one table are the unique constraints' to report, each
// with its own message; only a clash between a tenant and another tenant's
// site is the hostname rule's.
func TestHostnameConflictsSayWhatClashed(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant("a"), e.tenant("b")
	aSite, bSite := e.site(a.Id, "a-site"), e.site(b.Id, "b-site")
	const (
		tenantTaken = "a tenant with this domain already exists"
		siteTaken   = "a site with this domain already exists"
		otherTenant = "this domain belongs to another tenant"
	)
	for _, tc := range []struct {
		name string
		do   func() (int, *client.Problem, []byte)
		want string
	}{
		{"tenant created with another tenant's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "c", Domain: strings.ToUpper(a.Domain)})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, tenantTaken},
		{"tenant renamed to another tenant's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.UpdateTenantWithResponse(ctx, b.Id, nil, client.TenantUpdate{Domain: &a.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, tenantTaken},
		{"site created with another tenant's site's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: b.Id, Name: "s", Domain: aSite.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, siteTaken},
		{"site created with a sibling's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: a.Id, Name: "s", Domain: aSite.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, siteTaken},
		{"site renamed to another tenant's site's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.UpdateSiteWithResponse(ctx, bSite.Id, nil, client.SiteUpdate{Domain: &aSite.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, siteTaken},
		{"site created with another tenant's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: b.Id, Name: "s", Domain: a.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, otherTenant},
		{"tenant renamed to another tenant's site's domain", func() (int, *client.Problem, []byte) {
			r, _ := e.c.UpdateTenantWithResponse(ctx, a.Id, nil, client.TenantUpdate{Domain: &bSite.Domain})
			return r.StatusCode(), r.ApplicationproblemJSON409, r.Body
		}, otherTenant},
	} {
		code, p, body := tc.do()
		if code != 409 || detail(p) != tc.want {
			t.Errorf("%s: %d %q, want 409 %q (%s)", tc.name, code, detail(p), tc.want, body)
		}
	}
}

// A tenant renamed to a hostname while a site of that tenant is created with
// it: the pair that deadlocked when the site's insert took the hostname lock
// before its foreign key check took the tenant row. Either may run first;
// neither may fail with a deadlock. A site of a rival tenant claims the same
// hostname in every round, so that the plain conflicts are exercised too.
func TestTenantRenameAndSiteCreateDoNotDeadlock(t *testing.T) {
	e := newEnv(t)
	owner, rival := e.tenant("owner"), e.tenant("rival")
	const retry = "the request conflicted with a concurrent one; retry it" // pg.Classify's answer to 40P01
	type outcome struct {
		code   int
		detail string
	}
	for round := range 40 {
		host := uniqueDomain("race")
		var wg sync.WaitGroup
		var rename, ownSite, rivalSite outcome
		wg.Add(3)
		go func() {
			defer wg.Done()
			if r, err := e.c.UpdateTenantWithResponse(ctx, owner.Id, nil, client.TenantUpdate{Domain: &host}); err == nil {
				rename = outcome{r.StatusCode(), detail(r.ApplicationproblemJSON409)}
			}
		}()
		go func() {
			defer wg.Done()
			if r, err := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: owner.Id, Name: "own", Domain: host}); err == nil {
				ownSite = outcome{r.StatusCode(), detail(r.ApplicationproblemJSON409)}
			}
		}()
		go func() {
			defer wg.Done()
			if r, err := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: rival.Id, Name: "rival", Domain: host}); err == nil {
				rivalSite = outcome{r.StatusCode(), detail(r.ApplicationproblemJSON409)}
			}
		}()
		wg.Wait()
		for _, o := range []outcome{rename, ownSite, rivalSite} {
			if !(o.code == 200 || o.code == 201 || o.code == 409 && o.detail != retry && o.detail != "") {
				t.Fatalf("round %d: rename %v, own site %v, rival site %v; want 200/201 or a plain 409", round, rename, ownSite, rivalSite)
			}
		}
		// The hostname went to one tenant: the rival's site, or the owner.
		if rivalSite.code == 201 && (rename.code == 200 || ownSite.code == 201) {
			t.Fatalf("round %d: rename %v, own site %v, rival site %v; the hostname went to two tenants", round, rename, ownSite, rivalSite)
		}
		if rivalSite.code != 201 && (rename.code != 200 || ownSite.code != 201) {
			t.Fatalf("round %d: rename %v, own site %v, rival site %v; the owner's claims are compatible", round, rename, ownSite, rivalSite)
		}
	}
}

// A hostname may be written with one trailing dot (the root), so the spec
// lets 254 characters through and the domain layer measures the name
// without the dot: 253 characters plus the dot are accepted and stored
// without it; 254 without a dot are not.
func TestLongestHostnameWithTrailingDot(t *testing.T) {
	e := newEnv(t)
	label := func(c string, n int) string { return strings.Repeat(c, n) }
	// 63+1+63+1+63+1+61 = 253 characters.
	longest := func(prefix string) string {
		host := uniqueDomain(prefix) // unique across runs, shortened to fit below
		first := strings.SplitN(host, ".", 2)[0]
		return first + label("a", 63-len(first)) + "." + label("b", 63) + "." + label("c", 63) + "." + label("d", 61)
	}
	host := longest("t")
	if len(host) != 253 {
		t.Fatalf("test hostname of %d characters", len(host))
	}
	r, err := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "long", Domain: host + "."})
	if err != nil {
		t.Fatal(err)
	}
	status(t, r.StatusCode(), 201, r.Body)
	if r.JSON201.Domain != host {
		t.Fatalf("stored %q, want the name without its dot", r.JSON201.Domain)
	}
	site := longest("s")
	s, _ := e.c.CreateSiteWithResponse(ctx, nil, client.SiteCreate{TenantId: r.JSON201.Id, Name: "long", Domain: strings.ToUpper(site) + "."})
	status(t, s.StatusCode(), 201, s.Body)
	if s.JSON201.Domain != site {
		t.Fatalf("stored %q, want %q", s.JSON201.Domain, site)
	}
	renamed := longest("r")
	u, _ := e.c.UpdateTenantWithResponse(ctx, r.JSON201.Id, nil, client.TenantUpdate{Domain: ptr(renamed + ".")})
	status(t, u.StatusCode(), 200, u.Body)

	// One character more is too long, with or without the dot.
	for _, domain := range []string{"x" + longest("x"), "x" + longest("y") + "."} {
		r, _ := e.c.CreateTenantWithResponse(ctx, nil, client.TenantCreate{Name: "long", Domain: domain})
		status(t, r.StatusCode(), 400, r.Body)
		if p := r.ApplicationproblemJSON400; p == nil || p.Errors == nil || len(*p.Errors) != 1 || (*p.Errors)[0].Field != "body.domain" {
			t.Fatalf("%d characters: %s", len(domain), r.Body)
		}
	}
}
