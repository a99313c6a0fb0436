package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// class says which connection flag a scenario takes.
type class int

const (
	reads  class = iota // -conns
	writes              // -write-conns
	logins              // -login-conns
)

// scenario is one row of the table: what a worker (one connection) sends.
type scenario struct {
	name, what string
	class      class
	rsa        bool // paced at -rsa-rate: RSA keys come from a pool refilled in the background
	bare       bool // against the bare reference server, not the platform
	// interleaved: run in -rounds slices alternating with the next
	// scenario's, so that whatever else the machine does weighs on both
	// alike (the bare server and the platform's read of the same row).
	interleaved bool
	// argon2 measures the raw argon2id reference right before and after
	// the scenario, for the same reason.
	argon2 bool
	// worker prepares worker w (unmeasured: it may sign in) and returns
	// its i-th request.
	worker func(ctx context.Context, e *env, w int) (next func(i int) op, err error)
}

var keyAlgorithms = []string{"ES256", "RS256", "PS256", "EdDSA"}

// scenarios in the order they run: the bare reference right before the
// platform's read of the same row; login last, as its hashes take the most
// memory.
func scenarios() []scenario {
	list := []scenario{
		{name: "bare-read-tenant", bare: true, interleaved: true,
			what:   "reference: GET /tenants/{id} on a bare net/http + pgx server, the same query, no middleware",
			worker: same(func(e *env) op { return op{method: "GET", url: e.bareURL + "/tenants/" + e.tenant} })},
		{name: "read-tenant", what: "config-vault GET /tenants/{id}, every middleware on (token, validation, log, metrics)",
			worker: same(func(e *env) op { return e.get("/config-vault/v1/tenants/" + e.tenant) })},
		{name: "list-sites", what: fmt.Sprintf("config-vault GET /tenants/{id}/sites (%d sites)", seedSites),
			worker: same(func(e *env) op { return e.get("/config-vault/v1/tenants/" + e.tenant + "/sites") })},
		{name: "uam-read-user", what: "uam GET /tenants/{id}/users/{id}",
			worker: same(func(e *env) op { return e.get("/uam/v1/tenants/" + e.platform + "/users/" + e.adminID) })},
		{name: "iam-list-clients", what: "iam GET /tenants/{id}/clients",
			worker: same(func(e *env) op { return e.get("/iam/v1/tenants/" + e.tenant + "/clients") })},
		{name: "content-read-item", what: "content GET /tenants/{id}/sites/{id}/items/{id} (a draft with a 1 KB body)",
			worker: same(func(e *env) op {
				return e.get("/content/v1/tenants/" + e.tenant + "/sites/" + e.site + "/items/" + e.item)
			})},
		{name: "content-delivery", what: "content GET /sites/{id}/published/{type}/{slug}: a live version",
			worker: same(func(e *env) op { return e.get("/content/v1/sites/" + e.site + "/published/post/" + e.slug) })},
		{name: "content-search", what: fmt.Sprintf("content GET /sites/{id}/published?q=word: full-text search, %d of %d items match", seedItems/10, seedItems),
			worker: same(func(e *env) op { return e.get("/content/v1/sites/" + e.site + "/published?q=" + e.searchWord) })},
		{name: "create-tenant", class: writes, what: "config-vault POST /tenants",
			worker: func(_ context.Context, e *env, w int) (func(int) op, error) {
				return func(i int) op {
					return e.post("/config-vault/v1/tenants", map[string]any{"name": "Load tenant",
						"domain": fmt.Sprintf("w%d-%d.load-%s.example.com", w, i, e.run)})
				}, nil
			}},
	}
	for _, alg := range keyAlgorithms {
		s := scenario{name: "create-key-" + alg, class: writes, what: "config-vault POST /keys, " + alg,
			worker: same(func(e *env) op {
				return e.post("/config-vault/v1/keys", map[string]any{"tenant_id": e.keyTenant[alg], "algorithm": alg})
			})}
		if alg == "RS256" || alg == "PS256" {
			s.rsa, s.what = true, s.what+"-2048, paced (-rsa-rate)"
		}
		list = append(list, s)
	}
	return append(list,
		scenario{name: "client-credentials", what: "iam POST /oauth2/token, client_credentials grant (HTTP Basic)",
			worker: same(func(e *env) op {
				return op{method: "POST", url: e.base + "/iam/v1/oauth2/token", body: []byte("grant_type=client_credentials"),
					form: true, user: e.client.id, pass: e.client.secret}
			})},
		scenario{name: "refresh", what: "iam POST /auth/refresh, each connection rotating its own session",
			worker: refreshWorker},
		scenario{name: "login", class: logins, argon2: true, what: "iam POST /auth/login: uam's argon2id check, config-vault's signature",
			worker: same(func(e *env) op {
				return op{method: "POST", url: e.base + "/iam/v1/auth/login",
					body: jsonBody(map[string]string{"email": e.opts.email, "password": e.opts.password})}
			})},
	)
}

// same is a worker sending one request over and over.
func same(build func(e *env) op) func(context.Context, *env, int) (func(int) op, error) {
	return func(_ context.Context, e *env, _ int) (func(int) op, error) {
		o := build(e)
		return func(int) op { return o }, nil
	}
}

// refreshWorker signs in once, then rotates that session's refresh token.
func refreshWorker(ctx context.Context, e *env, _ int) (func(int) op, error) {
	t, err := login(ctx, e.base, e.opts.email, e.opts.password)
	if err != nil {
		return nil, err
	}
	refresh := t.RefreshToken
	o := op{method: "POST", url: e.base + "/iam/v1/auth/refresh", answer: func(b []byte) error {
		var t tokens
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		refresh = t.RefreshToken
		return nil
	}}
	return func(int) op {
		o.body = jsonBody(map[string]string{"refresh_token": refresh})
		return o
	}, nil
}

func (s scenario) conns(o options) int {
	switch s.class {
	case writes:
		return o.writeConns
	case logins:
		return o.hashConns
	}
	return o.conns
}

// selectScenarios returns the scenarios named in only (comma-separated),
// or all of them.
func selectScenarios(only string) ([]scenario, error) {
	all := scenarios()
	if only == "" {
		return all, nil
	}
	names := strings.Split(only, ",")
	for _, n := range names {
		if !slices.ContainsFunc(all, func(s scenario) bool { return s.name == n }) {
			return nil, fmt.Errorf("-only: no scenario %q", n)
		}
	}
	return slices.DeleteFunc(all, func(s scenario) bool { return !slices.Contains(names, s.name) }), nil
}
