package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/saasplatform/saas/"

// services are the bounded contexts: internal/<dir>, gen/{api,db}/<dir>.
var services = []string{"configvault", "uam", "iam", "content"}

func serviceOf(pkg string) string {
	for _, s := range services {
		for _, prefix := range []string{"internal/" + s, "gen/api/" + s, "gen/db/" + s} {
			if pkg == module+prefix || strings.HasPrefix(pkg, module+prefix+"/") {
				return s
			}
		}
	}
	return ""
}

// violation says why from may not import to, or "". xtest says the import is
// by from's external test package (package x_test), which may wire other
// services into a real environment as cmd/saas does: a service's API tests
// run against a real Config Vault rather than a stand-in of it.
func violation(from, to string, xtest bool) string {
	if !strings.HasPrefix(to, module) {
		return ""
	}
	switch {
	case strings.HasPrefix(to, module+"cmd/") && !strings.HasPrefix(from, module+"cmd/"):
		return "nothing imports cmd"
	case strings.HasPrefix(from, module+"internal/platform/") && strings.HasPrefix(to, module+"internal/") &&
		!strings.HasPrefix(to, module+"internal/platform/"):
		return "the platform imports no service"
	case strings.HasPrefix(from, module+"internal/platform/") && serviceOf(to) != "":
		return "the platform imports no service's generated server or queries"
	case isApp(to) && !isApp(from) && !strings.HasPrefix(from, module+"cmd/") && from != module+"orchestrate" && !xtest:
		return "only cmd, the deployment checks and external test packages assemble the platform (internal/app)"
	}
	if fromSvc, toSvc := serviceOf(from), serviceOf(to); fromSvc != "" && toSvc != "" && fromSvc != toSvc && !xtest {
		return "services talk to each other through gen/client only"
	}
	return ""
}

func isApp(pkg string) bool {
	return pkg == module+"internal/app" || strings.HasPrefix(pkg, module+"internal/app/")
}

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}|{{join .Imports " "}} {{join .TestImports " "}}|{{join .XTestImports " "}}`, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "pkg [pkg.test]" is pkg compiled for its tests; "pkg.test" is the test main.
		parts := strings.SplitN(line, "|", 3)
		from := strings.Fields(parts[0])[0]
		if strings.HasSuffix(from, ".test") || len(parts) != 3 {
			continue
		}
		for i, list := range parts[1:] {
			for _, to := range strings.Fields(list) {
				checked++
				// "pkg_test" is pkg's external test package listed on its own.
				xtest := i == 1 || strings.HasSuffix(from, "_test")
				if why := violation(from, to, xtest); why != "" {
					t.Errorf("%s imports %s: %s", strings.TrimPrefix(from, module), strings.TrimPrefix(to, module), why)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports were checked")
	}
}

// The rules themselves, so that a rule that can never fire is caught.
func TestViolation(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		xtest    bool
		bad      bool
	}{
		{"internal/configvault", "internal/platform/problem", false, false},
		{"internal/configvault", "gen/api/configvault", false, false},
		{"internal/configvault", "gen/db/configvault", false, false},
		{"internal/iam", "gen/client/configvault", false, false},
		{"internal/iam", "internal/configvault", false, true},
		{"internal/iam", "gen/db/configvault", false, true},
		{"internal/iam", "internal/configvault/keycrypto", false, true},
		{"internal/platform/httpapi", "internal/configvault", false, true},
		{"internal/platform/httpapi", "gen/api/configvault", false, true},
		{"internal/configvault", "cmd/saas", false, true},
		{"cmd/saas", "internal/configvault", false, false},
		{"internal/uam", "internal/configvault", true, false},
		{"internal/platform/httpapi", "internal/configvault", true, true},
		{"cmd/saas", "internal/app", false, false},
		{"orchestrate", "internal/app", false, false},
		{"internal/iam", "internal/app/apptest", true, false},
		{"internal/iam", "internal/app/apptest", false, true},
		{"internal/app/apptest", "internal/app", false, false},
		{"internal/platform/authz", "internal/app", true, true},
	} {
		if got := violation(module+tc.from, module+tc.to, tc.xtest) != ""; got != tc.bad {
			t.Errorf("%s -> %s: violation=%v, want %v", tc.from, tc.to, got, tc.bad)
		}
	}
}
