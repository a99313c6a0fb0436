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
var pendingServices = map[string]string{}

// appWiring is what internal/app/app.go says about the services: which
// exist, whom each calls (and whom with its own service credential), which
// one creates the first administrator.
type appWiring struct {
	services        []string
	calls           map[string][]string // caller: callees
	credentialCalls map[string][]string // caller: callees it sends its credential to
	bootstrapper    string
}

var (
	appServicesVar = regexp.MustCompile(`(?s)\nvar Services = \[\]Service\{\n(.*?)\n\}\n`)
	appServiceLine = regexp.MustCompile(`\{Name: "([a-z-]+)"[^\n]*?build: (\w+)(?:, bootstrap: (\w+))?\}`)
	// p.client(<callee>, <prefix>, <caller>), p.vaultClient(<caller>): the
	// caller "" calls anonymously, any other with that service's credential.
	appClientCall = regexp.MustCompile(`p\.client\("([a-z-]+)"(?:, [^,()\n]+, "([a-z-]*)"\))?`)
	appVaultCall  = regexp.MustCompile(`p\.vaultClient\((?:"([a-z-]*)"\))?`)
)

// call is one call of app.go: to callee, as caller ("" anonymous; "?" when
// the source does not say, which the checks refuse).
type call struct{ callee, as string }

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
	w := appWiring{calls: map[string][]string{}, credentialCalls: map[string][]string{}}
	block := appServicesVar.FindStringSubmatch(src)
	if block == nil {
		return w, []string{"internal/app/app.go: no `var Services = []Service{...}` to read the services from; update parseAppWiring"}
	}
	callees := func(body string) []call {
		var out []call
		for _, m := range appClientCall.FindAllStringSubmatch(body, -1) {
			as := m[2]
			if !strings.HasSuffix(m[0], ")") {
				as = "?"
			}
			out = append(out, call{m[1], as})
		}
		for _, m := range appVaultCall.FindAllStringSubmatch(body, -1) {
			as := m[1]
			if !strings.HasSuffix(m[0], ")") {
				as = "?"
			}
			out = append(out, call{"config-vault", as})
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
		for _, c := range append(slices.Clone(everyone), callees(body)...) {
			switch {
			case c.as == "?":
				p = append(p, fmt.Sprintf("internal/app/app.go: a call of %s to %s whose caller this test cannot read; update parseAppWiring", name, c.callee))
			case c.as != "" && c.as != name:
				p = append(p, fmt.Sprintf("internal/app/app.go: %s's build function calls %s as %s: a service calls with its own credential only", name, c.callee, c.as))
			}
			if c.callee == name {
				continue
			}
			if !slices.Contains(w.calls[name], c.callee) {
				w.calls[name] = append(w.calls[name], c.callee)
			}
			if c.as != "" && !slices.Contains(w.credentialCalls[name], c.callee) {
				w.credentialCalls[name] = append(w.credentialCalls[name], c.callee)
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
// those callers lists, those made with a service credential (from which the
// service keys follow) those credentialCallers lists, and the first
// administrator comes from the service that creates it.
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
			got, want = callsWithCredential(caller, callee), slices.Contains(w.credentialCalls[caller], callee)
			if got != want {
				p = append(p, fmt.Sprintf("internal/app: %s calls %s with its service credential: %v, but credentialCallers says %v; update credentialCallers and the service keys of the deployment files",
					caller, callee, want, got))
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
		{"a deployed service leaves the binary", "\t{Name: \"content\", Migrations: content.Migrations, build: buildContent},\n", "",
			"the deployment runs content, which the binary does not have"},
		{"a credential call made anonymous", "p.vaultClient(\"content\")", "p.vaultClient(\"\")",
			"content calls config-vault with its service credential: false, but credentialCallers says true"},
		{"an anonymous call made with a credential", "p.client(\"config-vault\", configvault.Prefix, \"\")",
			"p.client(\"config-vault\", configvault.Prefix, \"x\")", "calls config-vault as x"},
		{"a call as another service", "p.vaultClient(\"uam\")", "p.vaultClient(\"iam\")", "uam's build function calls config-vault as iam"},
		{"a new credential call", "func buildUAM(_ context.Context, p *Platform) (httpapi.API, error) {\n",
			"func buildUAM(_ context.Context, p *Platform) (httpapi.API, error) {\n\t_, _, _ = p.client(\"iam\", \"\", \"uam\")\n",
			"uam calls iam with its service credential: true, but credentialCallers says false"},
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
