package authz

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package")
		}
		dir = parent
	}
}

// openBySpec are the operations that need no token: key sets, discovery,
// and the token endpoints (whose handlers authenticate clients and refresh
// tokens themselves). An operation made open by mistake fails here.
var openBySpec = []string{
	"config-vault GET /sites/{site_id}/jwks.json",
	"config-vault GET /tenants/{tenant_id}/jwks.json",
	"iam GET /tenants/{tenant_id}/.well-known/openid-configuration",
	"iam GET /tenants/{tenant_id}/jwks.json",
	"iam POST /auth/login",
	"iam POST /auth/logout",
	"iam POST /auth/refresh",
	"iam POST /oauth2/introspect",
	"iam POST /oauth2/revoke",
	"iam POST /oauth2/token",
}

// scopedByService are the protected operations whose path names no
// tenant_id: the middleware authenticates and checks the permission, but
// the owning tenant is known only to the service, which must scope by the
// principal's tenant (authn.FromContext, authz.MayActIn/PlatformAdmin). A
// new such operation fails here until it is added, with its service's
// scoping checked.
var scopedByService = []string{
	"config-vault DELETE /keys/{key}",
	"config-vault DELETE /sites/{site_id}",
	"config-vault GET /keys/{key}",
	"config-vault GET /sites",
	"config-vault GET /sites/{site_id}",
	"config-vault GET /sites/{site_id}/keys",
	"config-vault GET /sites/{site_id}/keys/active",
	"config-vault GET /tenants",
	"config-vault POST /keys",
	"config-vault POST /keys/{key}/activate",
	"config-vault POST /keys/{key}/deactivate",
	"config-vault POST /keys/{key}/revoke",
	"config-vault POST /sites",
	"config-vault POST /tenants",
	"config-vault PUT /sites/{site_id}",
	"iam GET /userinfo",
	"uam GET /me",
	"uam GET /permissions",
	"uam POST /internal/credential-checks",
	"uam POST /me/password",
	"uam PUT /me/profile",
	"content GET /sites/{site_id}/published",
	"content GET /sites/{site_id}/published/{type}/{slug}",
}

// Every operation of the real specs has a requirement the middleware can
// enforce: explicit or inherited, naming only declared schemes that carry
// bearer tokens and only scopes those schemes declare. The check here is
// written independently of compile, and compared with what it resolved.
func TestTheServicesSpecsResolve(t *testing.T) {
	root := repoRoot(t)
	var open, byService []string
	// Every spec in openapi/, so that a new service cannot escape.
	files, err := filepath.Glob(filepath.Join(root, "openapi", "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("the specs in openapi/: %v %v", files, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := New(doc, Options{Verifier: &fakeVerifier{}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ops, err := Operations(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resolved := map[string]Operation{}
		for _, o := range ops {
			resolved[o.Method+" "+o.Path] = o
		}

		declared := map[string]map[string]bool{} // scheme -> scopes
		for sname, ref := range doc.Components.SecuritySchemes {
			s := ref.Value
			if s.Type != "oauth2" || s.Flows == nil || s.Flows.ClientCredentials == nil {
				t.Errorf("%s: scheme %s is not the platform's oauth2 bearer scheme", name, sname)
				continue
			}
			declared[sname] = map[string]bool{}
			for scope := range s.Flows.ClientCredentials.Scopes {
				declared[sname][scope] = true
			}
		}

		count := 0
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				count++
				key := method + " " + path
				reqs := doc.Security
				if op.Security != nil {
					reqs = *op.Security
				} else if len(reqs) == 0 {
					t.Errorf("%s %s: no requirement, explicit or inherited", name, key)
					continue
				}
				isOpen := len(reqs) == 0
				var alts [][]string
				for _, req := range reqs {
					if len(req) == 0 {
						isOpen = true
					}
					var scopes []string
					for sname, list := range req {
						if declared[sname] == nil {
							t.Errorf("%s %s: scheme %q is not declared", name, key, sname)
						}
						for _, s := range list {
							if !declared[sname][s] {
								t.Errorf("%s %s: scope %q is not declared by scheme %q", name, key, s, sname)
							}
						}
						scopes = append(scopes, list...)
					}
					if len(req) > 0 {
						alts = append(alts, scopes)
					}
				}
				hasTenant := strings.Contains(path, "{tenant_id}")

				o, ok := resolved[key]
				switch {
				case !ok:
					t.Errorf("%s %s: not resolved", name, key)
				case o.Open != isOpen:
					t.Errorf("%s %s: open %v, the spec says %v", name, key, o.Open, isOpen)
				case !isOpen && !slices.EqualFunc(o.Alternatives, alts, slices.Equal):
					t.Errorf("%s %s: alternatives %v, the spec says %v", name, key, o.Alternatives, alts)
				case o.TenantScoped != hasTenant:
					t.Errorf("%s %s: tenant-scoped %v", name, key, o.TenantScoped)
				case o.SiteScoped != strings.Contains(path, "{site_id}"):
					t.Errorf("%s %s: site-scoped %v", name, key, o.SiteScoped)
				}
				switch {
				case isOpen:
					open = append(open, name+" "+key)
				case !hasTenant:
					byService = append(byService, name+" "+key)
				}
			}
		}
		if count == 0 || len(ops) != count {
			t.Errorf("%s: %d operations resolved of %d", name, len(ops), count)
		}
	}
	sort.Strings(open)
	sort.Strings(byService)
	if !slices.Equal(open, sorted(openBySpec)) {
		t.Errorf("open operations:\n%s\nwant:\n%s", strings.Join(open, "\n"), strings.Join(sorted(openBySpec), "\n"))
	}
	if !slices.Equal(byService, sorted(scopedByService)) {
		t.Errorf("protected operations without a tenant_id in the path (their service scopes the tenant):\n%s\nwant:\n%s",
			strings.Join(byService, "\n"), strings.Join(sorted(scopedByService), "\n"))
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
