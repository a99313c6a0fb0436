package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// env is what the scenarios run against: the administrator's token and the
// resources seeded through the API.
type env struct {
	opts     options
	base     string // the server's base URL
	run      string // random, so that names of this run are unique
	admin    string // the administrator's access token
	adminID  string // their user id
	platform string // their tenant: the platform tenant

	tenant, site string            // the tenant and site the reads read
	keyTenant    map[string]string // by algorithm: tenants that only get keys
	item, slug   string            // a published content item of site
	searchWord   string            // a word in one item in ten
	client       struct{ id, secret string }

	bareURL string // the bare reference server
	barePID int
}

// Seeded sizes: enough rows that reads are not of a toy table, few enough to
// seed in a couple of seconds.
const (
	seedSites = 10
	seedItems = 200
)

// words are the content items' vocabulary; searchWord is among them.
var words = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike
	november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu platform tenant
	content delivery search latency memory profile cache token refresh signature key argon`)

func seed(ctx context.Context, o options) (*env, error) {
	run := make([]byte, 4)
	_, _ = crand.Read(run)
	e := &env{opts: o, base: o.url, run: hex.EncodeToString(run), keyTenant: map[string]string{}}
	t, err := login(ctx, e.base, o.email, o.password)
	if err != nil {
		return nil, err
	}
	e.admin = t.AccessToken
	if e.adminID, e.platform, err = claimsOf(e.admin); err != nil {
		return nil, err
	}

	if e.tenant, err = e.createTenant(ctx, "bench"); err != nil {
		return nil, err
	}
	for i := range seedSites {
		var site struct{ ID string }
		err := call(ctx, e.post("/config-vault/v1/sites", map[string]any{"tenant_id": e.tenant,
			"name": fmt.Sprintf("Site %d", i), "domain": fmt.Sprintf("site%d.bench-%s.example.com", i, e.run)}), &site)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			e.site = site.ID
		}
	}
	for _, alg := range keyAlgorithms {
		if e.keyTenant[alg], err = e.createTenant(ctx, "keys-"+strings.ToLower(alg)); err != nil {
			return nil, err
		}
	}
	if err := e.seedContent(ctx); err != nil {
		return nil, err
	}
	err = call(ctx, e.post("/iam/v1/tenants/"+e.tenant+"/clients", map[string]any{
		"name": "bench", "scopes": []string{"sites:read", "content:read"}}), &struct {
		ID     *string `json:"client_id"`
		Secret *string `json:"client_secret"`
	}{&e.client.id, &e.client.secret})
	if err != nil {
		return nil, err
	}
	logf("seeded tenant %s: %d sites, %d published items, a machine client", e.tenant, seedSites, seedItems)
	return e, nil
}

// post is an authenticated JSON POST to path.
func (e *env) post(path string, body any) op {
	return op{method: "POST", url: e.base + path, body: jsonBody(body), token: e.admin}
}

// get is an authenticated GET of path.
func (e *env) get(path string) op {
	return op{method: "GET", url: e.base + path, token: e.admin}
}

func (e *env) createTenant(ctx context.Context, label string) (string, error) {
	var t struct{ ID string }
	err := call(ctx, e.post("/config-vault/v1/tenants", map[string]any{
		"name": "Bench " + label, "domain": label + "-" + e.run + ".example.com"}), &t)
	return t.ID, err
}

// seedContent creates and publishes seedItems posts whose bodies draw on
// words; one in ten also has searchWord, so a search matches a page of them.
func (e *env) seedContent(ctx context.Context) error {
	r := rand.New(rand.NewPCG(7, 7)) // the same bodies every run
	items := "/content/v1/tenants/" + e.tenant + "/sites/" + e.site + "/items"
	e.searchWord = "throughput"
	for i := range seedItems {
		body := make([]string, 150)
		for j := range body {
			body[j] = words[r.IntN(len(words))]
		}
		if i%10 == 0 {
			body[r.IntN(len(body))] = e.searchWord
		}
		slug := fmt.Sprintf("post-%d", i)
		var item struct{ ID string }
		err := call(ctx, e.post(items, map[string]any{"type": "post", "slug": slug,
			"title": fmt.Sprintf("Post %d about %s", i, body[0]), "summary": strings.Join(body[:12], " "),
			"body": strings.Join(body, " "), "tags": []string{"bench"}}), &item)
		if err != nil {
			return err
		}
		if err := call(ctx, e.post(items+"/"+item.ID+"/publish", map[string]any{}), nil); err != nil {
			return err
		}
		if i == 0 {
			e.item, e.slug = item.ID, slug
		}
	}
	return nil
}
