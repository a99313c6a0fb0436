package orchestrate

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// pendingServices are deployed (compose container, Deployment, database
// login, NetworkPolicy) before the binary has them; each says which issue
// brings it. Until then their containers stop with "unknown service".
var pendingServices = map[string]string{
	"content": "the content issue",
}

// appWiring is what internal/app/app.go says about the services: which
// exist, whom each calls, which one creates the first administrator.
type appWiring struct {
	services     []string
	calls        map[string][]string // caller: callees
	bootstrapper string
}

var (
	appServicesVar = regexp.MustCompile(`(?s)\nvar Services = \[\]Service\{\n(.*?)\n\}\n`)
	appServiceLine = regexp.MustCompile(`\{Name: "([a-z-]+)"[^\n]*?build: (\w+)(?:, bootstrap: (\w+))?\}`)
	appClientCall  = regexp.MustCompile(`p\.client\("([a-z-]+)"`)
	appVaultCall   = regexp.MustCompile(`p\.vaultClient\(`)
)

// funcBody is the text of top-level function name in src ("" if none).
func funcBody(src, name string) string {
	i := strings.Index(src, "\nfunc "+name+"(")
	if i < 0 {
		return ""
	}
	body := src[i+1:]
	if j := strings.Index(body, "\n}\n"); j >= 0 {
		body = body[:j+2]
	}
	return body
}

// parseAppWiring reads the services' wiring from app.go's source: the
// Services list, the calls each service's build function makes
// (p.client("<service>", p.vaultClient), and those New makes for every
// service (the key sets to verify tokens).
func parseAppWiring(src string) (appWiring, []string) {
	w := appWiring{calls: map[string][]string{}}
	block := appServicesVar.FindStringSubmatch(src)
	if block == nil {
		return w, []string{"internal/app/app.go: no `var Services = []Service{...}` to read the services from; update parseAppWiring"}
	}
	callees := func(body string) []string {
		var out []string
		for _, m := range appClientCall.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		if appVaultCall.MatchString(body) {
			out = append(out, "config-vault")
		}
		return out
	}
	newBody := funcBody(src, "New")
	if newBody == "" {
		return w, []string{"internal/app/app.go: no func New; update parseAppWiring"}
	}
	everyone := callees(newBody)
	var p []string
	for _, line := range strings.Split(block[1], "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := appServiceLine.FindStringSubmatch(line)
		if m == nil {
			p = append(p, fmt.Sprintf("internal/app/app.go: cannot read the service entry %q; update parseAppWiring", strings.TrimSpace(line)))
			continue
		}
		name, build, bootstrap := m[1], m[2], m[3]
		w.services = append(w.services, name)
		body := funcBody(src, build)
		if body == "" {
			p = append(p, fmt.Sprintf("internal/app/app.go: %s's build function %s not found", name, build))
		}
		for _, callee := range append(slices.Clone(everyone), callees(body)...) {
			if callee != name && !slices.Contains(w.calls[name], callee) {
				w.calls[name] = append(w.calls[name], callee)
			}
		}
		if bootstrap != "" && strings.Contains(funcBody(src, bootstrap), "BootstrapPassword") {
			w.bootstrapper = name
		}
	}
	return w, p
}

// The deployment follows the binary: every service it has is deployed,
// every deployed service it lacks is pending, the calls between them (from
// which the NetworkPolicies and the SAAS_<SERVICE>_URL variables follow) are
// those callers lists, and the first administrator comes from the service
// that creates it.
func TestDeploymentFollowsTheBinary(t *testing.T) {
	w, problems := parseAppWiring(readFile(t, filepath.Join("..", "internal", "app", "app.go")))
	for _, p := range problems {
		t.Error(p)
	}
	for _, p := range checkWiring(w) {
		t.Error(p)
	}
}

func checkWiring(w appWiring) []string {
	var p []string
	if len(w.services) == 0 {
		return []string{"internal/app/app.go lists no services: the parser is broken"}
	}
	for _, s := range w.services {
		if !slices.Contains(services, s) {
			p = append(p, fmt.Sprintf("the binary has service %s, which the deployment does not run: add it to services and to every deployment file", s))
		}
		if issue, ok := pendingServices[s]; ok {
			p = append(p, fmt.Sprintf("%s is in the binary now (it was pending on %s): drop it from pendingServices", s, issue))
		}
	}
	for _, s := range services {
		if slices.Contains(w.services, s) {
			continue
		}
		if _, ok := pendingServices[s]; !ok {
			p = append(p, fmt.Sprintf("the deployment runs %s, which the binary does not have, and pendingServices does not say which issue brings it", s))
		}
	}
	for _, caller := range w.services {
		for _, callee := range services {
			if callee == caller {
				continue
			}
			got, want := calls(caller, callee), slices.Contains(w.calls[caller], callee)
			if got != want {
				p = append(p, fmt.Sprintf("internal/app: %s calls %s: %v, but callers says %v; update callers, the NetworkPolicies and the %s variables",
					caller, callee, want, got, envName(callee)))
			}
		}
	}
	if w.bootstrapper != bootstrapper {
		p = append(p, fmt.Sprintf("internal/app: the first administrator is created by %q, but the deployment gives its credentials to %q (bootstrapper)", w.bootstrapper, bootstrapper))
	}
	return p
}

// The wiring check can fail: each mutation of app.go's wiring must be
// refused.
func TestWiringChecksCatchDrift(t *testing.T) {
	src := readFile(t, filepath.Join("..", "internal", "app", "app.go"))
	for _, m := range []struct{ name, old, new, want string }{
		{"a new call", "func buildIAM(_ context.Context, p *Platform) (httpapi.API, error) {\n",
			"func buildIAM(_ context.Context, p *Platform) (httpapi.API, error) {\n\t_, _, _ = p.client(\"content\", \"\", \"iam\")\n", "iam calls content: true, but callers says false"},
		{"a call dropped", "server, hc, err := p.client(\"uam\", uam.Prefix, \"iam\")", "server, hc, err := \"\", http.DefaultClient, error(nil)", "iam calls uam: false, but callers says true"},
		{"a new service", "{Name: \"iam\", Migrations: iam.Migrations, build: buildIAM},",
			"{Name: \"iam\", Migrations: iam.Migrations, build: buildIAM},\n\t{Name: \"billing\", Migrations: iam.Migrations, build: buildIAM},", "service billing, which the deployment does not run"},
		{"a pending service lands", "{Name: \"iam\", Migrations: iam.Migrations, build: buildIAM},",
			"{Name: \"iam\", Migrations: iam.Migrations, build: buildIAM},\n\t{Name: \"content\", Migrations: iam.Migrations, build: buildIAM},", "drop it from pendingServices"},
		{"another bootstrapper", "build: buildUAM, bootstrap: bootstrapUAM}", "build: buildUAM}", "the first administrator is created by \"\""},
	} {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(src, m.old) {
				t.Fatalf("internal/app/app.go no longer contains %q: update this mutation", m.old)
			}
			w, problems := parseAppWiring(strings.Replace(src, m.old, m.new, 1))
			problems = append(problems, checkWiring(w)...)
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					t.Logf("refused: %s", p)
					return
				}
			}
			t.Errorf("drift accepted: no problem mentions %q; problems: %q", m.want, problems)
		})
	}
}
