package uam_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// declaredScope is a permission a spec declares, and where.
type declaredScope struct {
	name, description, spec string
}

// specScopes reads every openapi/*.yaml of the repository and returns the
// scopes their security schemes declare, with the scopes their operations
// require (which must be declared ones).
func specScopes(t *testing.T, dir string) (declared []declaredScope, required map[string][]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no specs in %s: %v", dir, err)
	}
	required = map[string][]string{}
	for _, file := range files {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = true
		doc, err := loader.LoadFromFile(file)
		if err != nil {
			t.Fatalf("load %s: %v", file, err)
		}
		spec := filepath.Base(file)
		if doc.Components != nil {
			for _, ref := range doc.Components.SecuritySchemes {
				if ref.Value == nil || ref.Value.Flows == nil {
					continue
				}
				f := ref.Value.Flows
				for _, flow := range []*openapi3.OAuthFlow{f.Implicit, f.Password, f.ClientCredentials, f.AuthorizationCode} {
					if flow == nil {
						continue
					}
					for name, desc := range flow.Scopes {
						declared = append(declared, declaredScope{name: name, description: desc, spec: spec})
					}
				}
			}
		}
		note := func(reqs openapi3.SecurityRequirements, where string) {
			for _, req := range reqs {
				for _, scopes := range req {
					for _, s := range scopes {
						required[s] = append(required[s], spec+" "+where)
					}
				}
			}
		}
		note(doc.Security, "(top level)")
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.Security != nil {
					note(*op.Security, method+" "+path)
				}
			}
		}
	}
	return declared, required
}

// openapiDir finds openapi/ at the module root, above the test's directory.
func openapiDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "openapi")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// catalogueGaps lists what the catalogue (name -> description) lacks of the
// declared and required scopes.
func catalogueGaps(declared []declaredScope, required map[string][]string, catalogue map[string]string) []string {
	var gaps []string
	declaredNames := map[string]bool{}
	for _, d := range declared {
		declaredNames[d.name] = true
		desc, ok := catalogue[d.name]
		switch {
		case !ok:
			gaps = append(gaps, fmt.Sprintf("%s declares %q, which the built-in catalogue lacks: add it in a migration of schema/uam", d.spec, d.name))
		case desc != d.description:
			gaps = append(gaps, fmt.Sprintf("%q: %s describes it as %q, the catalogue as %q", d.name, d.spec, d.description, desc))
		}
	}
	var names []string
	for name := range required {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !declaredNames[name] {
			gaps = append(gaps, fmt.Sprintf("%q is required by %v but declared by no security scheme", name, required[name]))
		}
		if _, ok := catalogue[name]; !ok {
			gaps = append(gaps, fmt.Sprintf("%q is required by %v but missing from the built-in catalogue", name, required[name]))
		}
	}
	return gaps
}

// Every permission a spec declares is in the built-in catalogue, with the
// same description, and every permission an operation requires is declared:
// a spec that adds a permission without a migration adding it to
// uam.permissions fails here.
func TestCatalogueCoversSpecScopes(t *testing.T) {
	e := newEnv(t)
	dir := openapiDir(t)
	declared, required := specScopes(t, dir)

	specs := map[string]bool{}
	for _, d := range declared {
		specs[d.spec] = true
	}
	// Guard against a test that passes because it read nothing.
	for _, spec := range []string{"uam.yaml", "config-vault.yaml"} {
		if !specs[spec] {
			t.Fatalf("no scopes read from %s; read %v", spec, specs)
		}
	}
	for _, name := range []string{"users:write", "roles:assign", "permissions:read", "credentials:verify", "tenants:write", "keys:read"} {
		if len(required[name]) == 0 {
			t.Errorf("no operation requires %q; did the specs load?", name)
		}
	}

	list, _ := e.cataloguePaged(5)
	catalogue := map[string]string{}
	for _, p := range list {
		catalogue[p.Name] = p.Description
	}
	for _, gap := range catalogueGaps(declared, required, catalogue) {
		t.Error(gap)
	}

	// The check itself notices a spec that declares and requires a
	// permission no migration added, and a description that drifted.
	t.Run("notices a new permission", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "uam.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		spec := string(raw)
		for _, edit := range [][2]string{
			{"            users:read: Read users,", "            invoices:read: Read invoices.\n            users:read: Read users,"},
			{"      - bearer:\n        - users:write\n", "      - bearer:\n        - invoices:read\n"},
			{"roles:read: Read roles.", "roles:read: Read the roles."},
		} {
			if !strings.Contains(spec, edit[0]) {
				t.Fatalf("uam.yaml no longer contains %q; adapt the test", edit[0])
			}
			spec = strings.Replace(spec, edit[0], edit[1], 1)
		}
		tmp := t.TempDir()
		if err := os.WriteFile(filepath.Join(tmp, "uam.yaml"), []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
		declared, required := specScopes(t, tmp)
		gaps := catalogueGaps(declared, required, catalogue)
		want := []string{
			`uam.yaml declares "invoices:read", which the built-in catalogue lacks`,
			`"invoices:read" is required by`,
			`"roles:read": uam.yaml describes it as "Read the roles."`,
		}
		for _, w := range want {
			if !slices.ContainsFunc(gaps, func(g string) bool { return strings.HasPrefix(g, w) }) {
				t.Errorf("no gap starting %q in %q", w, gaps)
			}
		}
		if len(gaps) != len(want) {
			t.Errorf("gaps %q, want exactly %d", gaps, len(want))
		}
	})
}
