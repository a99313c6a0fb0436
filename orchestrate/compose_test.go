package orchestrate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification docker-compose.yml
// uses. Decoding is strict (unknown or wrongly cased keys fail), so a typo
// such as "depends-on" or "healthCheck" is an error rather than ignored.
type composeFile struct {
	Name     string                     `json:"name"`
	Services map[string]composeService  `json:"services"`
	Volumes  map[string]json.RawMessage `json:"volumes"`
}

type composeService struct {
	Image           string                       `json:"image"`
	Build           *composeBuild                `json:"build"`
	Command         []string                     `json:"command"`
	Restart         string                       `json:"restart"`
	User            string                       `json:"user"`
	ReadOnly        bool                         `json:"read_only"`
	CapDrop         []string                     `json:"cap_drop"`
	SecurityOpt     []string                     `json:"security_opt"`
	Tmpfs           []string                     `json:"tmpfs"`
	StopGracePeriod string                       `json:"stop_grace_period"`
	Healthcheck     *composeHealthcheck          `json:"healthcheck"`
	Environment     map[string]string            `json:"environment"`
	Volumes         []string                     `json:"volumes"`
	Ports           []string                     `json:"ports"`
	DependsOn       map[string]composeDependency `json:"depends_on"`
	Profiles        []string                     `json:"profiles"`
}

type composeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

type composeHealthcheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval"`
	Timeout     string   `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod string   `json:"start_period"`
	Disable     bool     `json:"disable"`
}

type composeDependency struct {
	Condition string `json:"condition"`
}

func (h *composeHealthcheck) enabled() bool { return h != nil && !h.Disable && len(h.Test) > 0 }

// parseCompose reads docker-compose.yml as docker compose does (YAML
// anchors and merge keys resolved), before variable interpolation.
func parseCompose(raw []byte) (composeFile, []string) {
	var f composeFile
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return f, []string{"docker-compose.yml: " + err.Error()}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return f, []string{"docker-compose.yml: " + err.Error()}
	}
	var p []string
	for k := range top {
		if strings.HasPrefix(k, "x-") {
			delete(top, k)
		} else if !slices.Contains([]string{"name", "services", "volumes"}, k) {
			p = append(p, fmt.Sprintf("docker-compose.yml: top-level key %q is not one this test knows (name, services, volumes, x-*)", k))
		}
	}
	js, _ = json.Marshal(top)
	strict, err := sigsjson.UnmarshalStrict(js, &f)
	if err != nil {
		return f, append(p, "docker-compose.yml: "+err.Error())
	}
	for _, e := range strict {
		p = append(p, "docker-compose.yml: "+e.Error())
	}
	return f, p
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	raw := readFile(t, "docker-compose.yml")
	f, problems := parseCompose([]byte(raw))
	for _, p := range problems {
		t.Error(p)
	}
	return f, raw
}

// The compose file: PostgreSQL, the migration and the four services as
// separate containers, hardened like the Kubernetes pods, each with its own
// database login, started in dependency order once what they need is healthy.
func TestComposeFile(t *testing.T) {
	for _, p := range checkCompose([]byte(readFile(t, "docker-compose.yml")), readFile(t, filepath.Join("k8s", "base", "database", "logins.sh"))) {
		t.Error(p)
	}
}

func checkCompose(raw []byte, logins string) []string {
	f, p := parseCompose(raw)
	if len(p) > 0 {
		return p
	}
	errorf := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	for _, name := range append([]string{"postgres", "migrate"}, services...) {
		if _, ok := f.Services[name]; !ok {
			return append(p, "docker-compose.yml: no service "+name)
		}
	}
	pg, migrate := f.Services["postgres"], f.Services["migrate"]
	if !pg.Healthcheck.enabled() {
		errorf("postgres: no health check, so nothing can wait for it to be ready")
	}
	if !slices.Equal(migrate.Command, []string{"migrate"}) || migrate.Restart != "no" {
		errorf("migrate: command %q restart %q, want [migrate] and restart \"no\" (it runs once)", migrate.Command, migrate.Restart)
	}
	if u := dbUser(errorf, "migrate", migrate.Environment["DATABASE_URL"]); u != "saas_owner" {
		errorf("migrate: logs in as %q, want saas_owner, the owner of the schemas", u)
	}
	users := map[string]string{}
	type setting struct{ service, value string }
	shared := map[string]setting{}
	for _, name := range append([]string{"migrate"}, services...) {
		s := f.Services[name]
		if s.Image == "" || s.Image != migrate.Image || s.Build == nil || s.Build.Dockerfile != "Dockerfile" {
			errorf("%s: image %q, want the one image (%q) built from the repository's Dockerfile", name, s.Image, migrate.Image)
		}
		if s.User == "" || s.User == "0" || s.User == "root" || strings.HasPrefix(s.User, "0:") {
			errorf("%s: user %q, want the image's unprivileged user", name, s.User)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			errorf("%s: want read_only, cap_drop ALL and no-new-privileges", name)
		}
		if len(s.Profiles) > 0 {
			errorf("%s: in profiles %q, so a plain `docker compose up` would not start it", name, s.Profiles)
		}
		if d := s.DependsOn["postgres"]; d.Condition != "service_healthy" {
			errorf("%s: must wait for postgres to be healthy (depends_on condition service_healthy)", name)
		}
		if name == "migrate" {
			continue
		}
		// The services.
		if want := []string{"serve", "--services", name}; !slices.Equal(s.Command, want) {
			errorf("%s: command %q, want %q", name, s.Command, want)
		}
		if h := s.Healthcheck; !h.enabled() || !slices.Equal(h.Test, []string{"CMD", "/saas", "healthcheck"}) {
			errorf("%s: health check %+v, want [CMD /saas healthcheck]", name, h)
		}
		if d := s.DependsOn["migrate"]; d.Condition != "service_completed_successfully" {
			errorf("%s: must wait for migrate to complete (service_completed_successfully)", name)
		}
		for callee, callers := range callers {
			if slices.Contains(callers, name) {
				if d := s.DependsOn[callee]; d.Condition != "service_healthy" {
					errorf("%s calls %s: depends_on %s with condition service_healthy", name, callee, callee)
				}
			}
		}
		env := s.Environment
		if env["SAAS_ADDR"] != fmt.Sprintf(":%d", servicePort) {
			errorf("%s: SAAS_ADDR %q, want :%d", name, env["SAAS_ADDR"], servicePort)
		}
		if !strings.HasPrefix(env["SAAS_MASTER_KEY"], "${SAAS_MASTER_KEY") {
			errorf("%s: SAAS_MASTER_KEY must come from .env", name)
		}
		// The services it calls, by URL; no URL of a service it does not
		// call (the NetworkPolicies would not let the call through either).
		for _, other := range services {
			v, ok := env[envName(other)]
			switch {
			case other == name && ok:
				errorf("%s: sets %s, its own URL", name, envName(other))
			case other != name && calls(name, other) && v != fmt.Sprintf("http://%s:%d", other, servicePort):
				errorf("%s calls %s: %s = %q, want http://%s:%d", name, other, envName(other), v, other, servicePort)
			case other != name && !calls(name, other) && ok:
				errorf("%s: sets %s, but does not call %s (see callers)", name, envName(other), other)
			}
		}
		// The service keys: its own private key from its own .env
		// variable when it calls others with its credential, the public keys
		// when others call it so; nothing else. No other service's private
		// key, under whatever name.
		ownKey := "${" + serviceKeyEnvVar(name)
		switch v, ok := env[serviceKeysVar]; {
		case signsCredentials(name) && !strings.HasPrefix(v, ownKey+":?"):
			errorf("%s: %s must be %s:?...}, its own private key from .env (it calls others with its credential)", name, serviceKeysVar, ownKey)
		case !signsCredentials(name) && ok:
			errorf("%s: sets %s, but calls no service with a credential: no private key belongs in it", name, serviceKeysVar)
		}
		for k, v := range env {
			for _, m := range composeVarRef.FindAllStringSubmatch(v, -1) {
				if ref := m[1] + m[4]; strings.HasPrefix(ref, "SAAS_SERVICE_KEY_") && ref != serviceKeyEnvVar(name) {
					errorf("%s: %s uses ${%s}, another service's private key", name, k, ref)
				}
			}
		}
		switch v, ok := env[servicePublicKeysVar]; {
		case len(credentialCallers[name]) > 0 && !strings.HasPrefix(v, "${"+servicePublicKeysVar+":?"):
			errorf("%s: %s must come from .env, ${%s:?...} (%s call it with their credentials)", name, servicePublicKeysVar, servicePublicKeysVar,
				strings.Join(credentialCallers[name], ", "))
		case len(credentialCallers[name]) == 0 && ok:
			errorf("%s: sets %s, but no service calls it with a credential", name, servicePublicKeysVar)
		}
		// One value of each shared setting across the services.
		for _, k := range sharedSettings {
			v, ok := env[k]
			if !ok {
				errorf("%s: no %s; every service needs the same one", name, k)
				continue
			}
			if first, seen := shared[k]; !seen {
				shared[k] = setting{name, v}
			} else if first.value != v {
				errorf("%s and %s: %s differ (%q, %q); every service needs the same one", first.service, name, k, first.value, v)
			}
		}
		// The first administrator's credentials reach the service that
		// creates it, and no other.
		for _, k := range bootstrapVars {
			v, ok := env[k]
			switch {
			case name == bootstrapper && !strings.HasPrefix(v, "${"):
				errorf("%s: %s must come from .env (%s creates the first administrator)", name, k, name)
			case name != bootstrapper && ok:
				errorf("%s: sets %s, which only %s reads; keep the secret out of it", name, k, bootstrapper)
			}
		}
		u := dbUser(errorf, name, env["DATABASE_URL"])
		if u != dbLogin(name) {
			errorf("%s: logs in to PostgreSQL as %q, want its own login %q", name, u, dbLogin(name))
		}
		if !strings.Contains(logins, "'"+u+"'") {
			errorf("%s: login %q is not created by logins.sh", name, u)
		}
		if prev, dup := users[u]; dup {
			errorf("%s and %s share the database login %s", prev, name, u)
		}
		users[u] = name
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") || !strings.HasSuffix(p, fmt.Sprintf(":%d", servicePort)) {
				errorf("%s: port %q, want 127.0.0.1:<host port>:%d", name, p, servicePort)
			}
		}
	}

	for name, s := range f.Services {
		// Dependencies exist, use a known condition, and a health
		// condition has a health check to wait for.
		for dep, d := range s.DependsOn {
			target, ok := f.Services[dep]
			switch {
			case !ok:
				errorf("%s depends on %s, which does not exist", name, dep)
			case !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, d.Condition):
				errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			case d.Condition == "service_healthy" && !target.Healthcheck.enabled():
				errorf("%s waits for %s to be healthy, but %s has no health check", name, dep, dep)
			}
		}
		// Secrets come from .env, never as literals in the file.
		for k, v := range s.Environment {
			if secretLike(k) && !strings.HasPrefix(v, "${") {
				errorf("%s: %s is a literal; take it from .env", name, k)
			}
		}
		// Bind mounts name files that exist; named volumes are declared.
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					errorf("%s: mounts %s: %v", name, src, err)
				}
			} else if _, ok := f.Volumes[src]; !ok {
				errorf("%s: volume %s is not declared", name, src)
			}
		}
	}
	// The public URL as compose would interpolate it: a base URL. When it
	// names this machine, it is the port iam is published on, where the
	// issuers' discovery documents answer (there is no gateway in front).
	if pu, ok := shared["SAAS_PUBLIC_URL"]; ok {
		v := composeVarRef.ReplaceAllStringFunc(pu.value, func(ref string) string {
			m := composeVarRef.FindStringSubmatch(ref)
			if m[2] == "-" || m[2] == ":-" {
				return m[3]
			}
			return ref
		})
		u, err := url.Parse(v)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "":
			errorf("SAAS_PUBLIC_URL %q (by default %q) is not a base URL such as https://api.example.com", pu.value, v)
		case u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1":
			iam := f.Services["iam"]
			if !slices.ContainsFunc(iam.Ports, func(p string) bool { return strings.HasPrefix(p, "127.0.0.1:"+u.Port()+":") }) {
				errorf("SAAS_PUBLIC_URL defaults to %s, but iam is published on %q: issuers would not resolve", v, iam.Ports)
			}
		}
	}
	if cycle := dependencyCycle(f); cycle != nil {
		errorf("depends_on has a cycle: %s", strings.Join(cycle, " -> "))
	}
	return p
}

func dbUser(errorf func(string, ...any), service, databaseURL string) string {
	// As compose would interpolate it, with a recognisable value.
	u, err := url.Parse(composeVarRef.ReplaceAllString(databaseURL, "from-env"))
	if err != nil || u.Scheme != "postgres" || u.User == nil || u.Host == "" || len(u.Path) < 2 {
		errorf("%s: DATABASE_URL %q is not a postgres://user:password@host/db URL", service, databaseURL)
		return ""
	}
	if pw, _ := u.User.Password(); pw != "from-env" {
		errorf("%s: the database password must come from .env", service)
	}
	if u.Hostname() != "postgres" {
		errorf("%s: DATABASE_URL points at %s, want the postgres service", service, u.Hostname())
	}
	return u.User.Username()
}

func dependencyCycle(f composeFile) []string {
	state := map[string]int{} // 1 visiting, 2 done
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case 1:
			return append(slices.Clone(stack[slices.Index(stack, n):]), n)
		case 2:
			return nil
		}
		state[n] = 1
		stack = append(stack, n)
		deps := make([]string, 0, len(f.Services[n].DependsOn))
		for d := range f.Services[n].DependsOn {
			deps = append(deps, d)
		}
		slices.Sort(deps)
		for _, d := range deps {
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
		return nil
	}
	names := make([]string, 0, len(f.Services))
	for n := range f.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

// composeVarRef finds ${NAME}, ${NAME:-default}, ${NAME-default},
// ${NAME:?message}, ${NAME?message}, ${NAME:+alt} and $NAME.
var composeVarRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

type varUse struct {
	op, arg string // op "" (plain), "-", ":-", "?", ":?", "+", ":+"
}

// composeVariables lists the variables docker-compose.yml interpolates,
// ignoring comments and $$ escapes.
func composeVariables(raw string) map[string][]varUse {
	uses := map[string][]varUse{}
	for _, line := range strings.Split(raw, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		line = strings.ReplaceAll(line, "$$", "")
		for _, m := range composeVarRef.FindAllStringSubmatch(line, -1) {
			if m[1] != "" {
				uses[m[1]] = append(uses[m[1]], varUse{m[2], m[3]})
			} else {
				uses[m[4]] = append(uses[m[4]], varUse{})
			}
		}
	}
	return uses
}

type envEntry struct {
	name, value, doc string
	line             int
}

// parseEnvExample reads env.example: NAME=value lines, each documented by
// the comment lines of its paragraph (lines up to the previous blank line).
func parseEnvExample(text string) ([]envEntry, []string) {
	var out []envEntry
	var p []string
	var doc []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			doc = nil
		case strings.HasPrefix(line, "#"):
			doc = append(doc, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		default:
			name, value, ok := strings.Cut(line, "=")
			if !ok || !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(name) {
				p = append(p, fmt.Sprintf("env.example:%d: not NAME=value: %q", n, line))
				continue
			}
			out = append(out, envEntry{name, value, strings.Join(doc, " "), n})
		}
	}
	return out, p
}

// Every variable docker-compose.yml uses is documented in env.example, and
// every variable there is used (or documented as optional, as those compose
// itself reads). Required variables are not called optional and, when
// secret, have no value in the example; optional ones state the default
// compose applies.
func TestEnvExampleDocumentsComposeVariables(t *testing.T) {
	for _, p := range checkEnvExample(readFile(t, "docker-compose.yml"), readFile(t, "env.example")) {
		t.Error(p)
	}
}

func checkEnvExample(compose, example string) []string {
	uses := composeVariables(compose)
	if len(uses) == 0 {
		return []string{"docker-compose.yml uses no variables: the parser is broken"}
	}
	entries, p := parseEnvExample(example)
	errorf := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	documented := map[string]envEntry{}
	for _, e := range entries {
		if _, dup := documented[e.name]; dup {
			errorf("env.example:%d: %s listed twice", e.line, e.name)
		}
		if e.doc == "" {
			errorf("env.example:%d: %s has no comment saying what it is", e.line, e.name)
		}
		documented[e.name] = e
	}
	for name, us := range uses {
		e, ok := documented[name]
		if !ok {
			errorf("docker-compose.yml uses ${%s}, which env.example does not document", name)
			continue
		}
		optional := strings.Contains(e.doc, "Optional")
		required := slices.ContainsFunc(us, func(u varUse) bool { return u.op == "?" || u.op == ":?" })
		var defaults []string
		for _, u := range us {
			if u.op == "-" || u.op == ":-" {
				if !slices.Contains(defaults, u.arg) {
					defaults = append(defaults, u.arg)
				}
			}
		}
		switch {
		case required && optional:
			errorf("env.example: %s is marked Optional, but docker-compose.yml requires it", name)
		case !required && len(defaults) == 0:
			errorf("docker-compose.yml: ${%s} has neither a default nor a :? requirement; an unset value would silently be empty", name)
		case len(defaults) > 1:
			errorf("docker-compose.yml: ${%s} has different defaults %q", name, defaults)
		case !required && !optional:
			errorf("env.example: %s has a default in docker-compose.yml; mark it \"Optional (default: %s)\"", name, defaults[0])
		case !required:
			want := "(default: " + defaults[0]
			if defaults[0] == "" {
				want = "(default: none"
			}
			if !strings.Contains(e.doc, want) {
				errorf("env.example: %s: say %q, the default docker-compose.yml applies", name, want+")")
			}
		case secretLike(name) && e.value != "":
			errorf("env.example: %s is a required secret: leave its value empty so nobody runs with the example's", name)
		}
	}
	for _, e := range entries {
		if _, used := uses[e.name]; !used && !strings.Contains(e.doc, "Optional") {
			errorf("env.example:%d: %s is not used by docker-compose.yml and not documented as Optional", e.line, e.name)
		}
	}
	return p
}

// The SAAS_* variables the deployment files set (in compose, in the pods'
// env, and as keys of the ConfigMaps the pods take whole with envFrom) are
// variables the binary reads: a misspelt one would be ignored without a word.
// A variable of a service still being built may be listed in pending until
// cmd/saas knows it, and must leave the list once it does.
func TestSaasVariablesAreKnownToTheBinary(t *testing.T) {
	pending := map[string]string{} // variable: the issue that brings it
	var source strings.Builder
	files, _ := filepath.Glob(filepath.Join("..", "cmd", "saas", "*.go"))
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		source.Write(b)
	}
	if !strings.Contains(source.String(), "SAAS_MASTER_KEY") {
		t.Fatal("cmd/saas does not mention SAAS_MASTER_KEY: the sources were not found")
	}
	used := map[string]string{}
	f, _ := loadCompose(t)
	for name, s := range f.Services {
		for k := range s.Environment {
			used[k] = "docker-compose.yml service " + name
		}
	}
	for _, ov := range overlays {
		r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", ov.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, pt := range podTemplates(r) {
			for _, c := range allContainers(pt.spec) {
				for _, e := range c.Env {
					used[e.Name] = ov.name + " " + pt.owner
				}
				for _, ef := range c.EnvFrom {
					if ef.ConfigMapRef == nil {
						continue
					}
					if o, ok := r.get("ConfigMap", ef.ConfigMapRef.Name); ok {
						for k := range o.(*corev1.ConfigMap).Data {
							used[ef.Prefix+k] = ov.name + " ConfigMap " + ef.ConfigMapRef.Name + " (envFrom of " + pt.owner + ")"
						}
					}
				}
			}
		}
	}
	for k, where := range used {
		if !strings.HasPrefix(k, "SAAS_") || strings.HasPrefix(k, "SAAS_DB_") && strings.HasSuffix(k, "_PASSWORD") {
			continue // PostgreSQL's and logins.sh's own
		}
		known := regexp.MustCompile(`\b` + k + `\b`).MatchString(source.String())
		issue, isPending := pending[k]
		switch {
		case known && isPending:
			t.Errorf("%s is read by cmd/saas now: drop it from pending", k)
			continue
		case known:
			continue
		}
		if isPending {
			t.Logf("%s (%s) is not read by cmd/saas yet; it comes with %s", k, where, issue)
			continue
		}
		t.Errorf("%s sets %s, which cmd/saas does not read", where, k)
	}
}

// The compose and env.example checks can fail: each mutation breaks one
// rule in a copy of the files, which must then be refused.
func TestComposeChecksCatchBrokenFiles(t *testing.T) {
	compose := readFile(t, "docker-compose.yml")
	example := readFile(t, "env.example")
	logins := readFile(t, filepath.Join("k8s", "base", "database", "logins.sh"))
	for _, m := range []struct {
		name     string
		file     string // "compose" or "env"
		old, new string
		want     string
	}{
		{"misspelt key", "compose", "    depends_on:\n      postgres:\n        condition: service_healthy\n\n  config-vault:", "    depend_on:\n      postgres:\n        condition: service_healthy\n\n  config-vault:", "unknown field"},
		{"no health check", "compose", "  healthcheck:\n    test: [\"CMD\", \"/saas\", \"healthcheck\"]", "  healthcheck:\n    test: [\"CMD\", \"/saas\", \"version\"]", "health check"},
		{"no wait for migrations", "compose", "      migrate:\n        condition: service_completed_successfully\n      config-vault:\n        condition: service_healthy\n      uam:", "      migrate:\n        condition: service_started\n      config-vault:\n        condition: service_healthy\n      uam:", "iam: must wait for migrate"},
		{"caller starts first", "compose", "      uam:\n        condition: service_healthy\n\n  content:", "      uam:\n        condition: service_started\n\n  content:", "iam calls uam: depends_on"},
		{"dependency cycle", "compose", "        condition: service_completed_successfully\n\n  uam:", "        condition: service_completed_successfully\n      iam:\n        condition: service_healthy\n\n  uam:", "cycle"},
		{"shared login", "compose", "postgres://uam:${SAAS_DB_UAM_PASSWORD}", "postgres://config_vault:${SAAS_DB_UAM_PASSWORD}", "uam: logs in to PostgreSQL as \"config_vault\""},
		{"password in the file", "compose", "${SAAS_DB_IAM_PASSWORD}@", "hunter2@", "iam: the database password must come from .env"},
		{"writable root", "compose", "  read_only: true\n", "  read_only: false\n", "read_only"},
		{"runs as root", "compose", "  user: \"65532:65532\"", "  user: \"0:0\"", "unprivileged user"},
		{"own URL", "compose", "      SAAS_RSA_POOL_SIZE: ${SAAS_RSA_POOL_SIZE:-4}\n", "      SAAS_RSA_POOL_SIZE: ${SAAS_RSA_POOL_SIZE:-4}\n      SAAS_CONFIG_VAULT_URL: http://config-vault:8000\n", "its own URL"},
		{"URL of a service it does not call", "compose", "content:${SAAS_DB_CONTENT_PASSWORD}@postgres:5432/saas?sslmode=disable\n", "content:${SAAS_DB_CONTENT_PASSWORD}@postgres:5432/saas?sslmode=disable\n      SAAS_UAM_URL: http://uam:8000\n", "content: sets SAAS_UAM_URL, but does not call uam"},
		{"caller without the URL", "compose", "      SAAS_UAM_URL: http://uam:8000\n", "", "iam calls uam: SAAS_UAM_URL"},
		{"public URL differs", "compose", "uam:${SAAS_DB_UAM_PASSWORD}@postgres:5432/saas?sslmode=disable\n", "uam:${SAAS_DB_UAM_PASSWORD}@postgres:5432/saas?sslmode=disable\n      SAAS_PUBLIC_URL: http://localhost:8002\n", "SAAS_PUBLIC_URL differ"},
		{"platform tenant differs", "compose", "      SAAS_PLATFORM_DOMAIN: ", "      SAAS_PLATFORM_TENANT_ID: 00000000-0000-7000-8000-000000000002\n      SAAS_PLATFORM_DOMAIN: ", "SAAS_PLATFORM_TENANT_ID differ"},
		{"master key per service", "compose", "      SAAS_ACCESS_TOKEN_TTL: ", "      SAAS_MASTER_KEY: ${SAAS_IAM_MASTER_KEY:?set it}\n      SAAS_ACCESS_TOKEN_TTL: ", "SAAS_MASTER_KEY differ"},
		{"content gets iam's private key", "compose", "${SAAS_SERVICE_KEY_CONTENT:?", "${SAAS_SERVICE_KEY_IAM:?", "content: SAAS_SERVICE_KEYS uses ${SAAS_SERVICE_KEY_IAM}, another service's private key"},
		{"iam's key under another name in uam", "compose", "      SAAS_BOOTSTRAP_ADMIN_EMAIL: ", "      IAM_KEY: ${SAAS_SERVICE_KEY_IAM:-}\n      SAAS_BOOTSTRAP_ADMIN_EMAIL: ", "uam: IAM_KEY uses ${SAAS_SERVICE_KEY_IAM}"},
		{"iam without its private key", "compose", "      SAAS_SERVICE_KEYS: ${SAAS_SERVICE_KEY_IAM:?", "      SAAS_SERVICE_KEYS_OLD: ${SAAS_SERVICE_KEY_IAM:?", "iam: SAAS_SERVICE_KEYS must be ${SAAS_SERVICE_KEY_IAM:?...}"},
		{"private key as a literal", "compose", "${SAAS_SERVICE_KEY_UAM:?set SAAS_SERVICE_KEY_UAM in orchestrate/.env (the uam=... entry of saas gen-service-keys)}", "uam=YaTzyGN7dyD0R2Wp3qBpY9rK2DGTynJtEhQedDPUV1Q=", "uam: SAAS_SERVICE_KEYS is a literal"},
		{"private keys for every service", "compose", "  SAAS_DB_MAX_CONNS: ${SAAS_DB_MAX_CONNS:-10}\n", "  SAAS_DB_MAX_CONNS: ${SAAS_DB_MAX_CONNS:-10}\n  SAAS_SERVICE_KEYS: ${SAAS_SERVICE_KEYS:?set it}\n", "config-vault: sets SAAS_SERVICE_KEYS, but calls no service with a credential"},
		{"uam without the public keys", "compose", "      SAAS_SERVICE_PUBLIC_KEYS: ${SAAS_SERVICE_PUBLIC_KEYS:?set SAAS_SERVICE_PUBLIC_KEYS in orchestrate/.env (saas gen-service-keys)}\n      # The platform tenant's first", "      # The platform tenant's first", "uam: SAAS_SERVICE_PUBLIC_KEYS must come from .env"},
		{"public keys for a service nobody calls", "compose", "      SAAS_ACCESS_TOKEN_TTL: ", "      SAAS_SERVICE_PUBLIC_KEYS: ${SAAS_SERVICE_PUBLIC_KEYS:?set it}\n      SAAS_ACCESS_TOKEN_TTL: ", "iam: sets SAAS_SERVICE_PUBLIC_KEYS, but no service calls it with a credential"},
		{"public URL nowhere near iam", "compose", "${SAAS_PUBLIC_URL:-http://localhost:8003}", "${SAAS_PUBLIC_URL:-http://localhost:8000}", "issuers would not resolve"},
		{"public URL with a path", "compose", "${SAAS_PUBLIC_URL:-http://localhost:8003}", "${SAAS_PUBLIC_URL:-http://localhost:8003/iam/v1}", "not a base URL"},
		{"bootstrap admin for another service", "compose", "      SAAS_ACCESS_TOKEN_TTL: ", "      SAAS_BOOTSTRAP_ADMIN_PASSWORD: ${SAAS_BOOTSTRAP_ADMIN_PASSWORD}\n      SAAS_ACCESS_TOKEN_TTL: ", "iam: sets SAAS_BOOTSTRAP_ADMIN_PASSWORD"},
		{"no bootstrap admin", "compose", "      SAAS_BOOTSTRAP_ADMIN_PASSWORD: ${SAAS_BOOTSTRAP_ADMIN_PASSWORD:?set SAAS_BOOTSTRAP_ADMIN_PASSWORD in orchestrate/.env}\n", "", "uam: SAAS_BOOTSTRAP_ADMIN_PASSWORD must come from .env"},
		{"published on every interface", "compose", "\"127.0.0.1:8002:8000\"", "\"8002:8000\"", "127.0.0.1"},
		{"undocumented variable", "compose", "${SAAS_LOG_LEVEL:-info}\n  SAAS_DB_MAX_CONNS", "${SAAS_LOG_LEVEL:-info}\n  SAAS_NEW_THING: ${SAAS_NEW_THING:-1}\n  SAAS_DB_MAX_CONNS", "SAAS_NEW_THING"},
		{"variable without default", "compose", "${SAAS_RSA_POOL_SIZE:-4}", "${SAAS_RSA_POOL_SIZE}", "neither a default"},
		{"unused variable", "env", "SAAS_IMAGE=saas:dev\n", "SAAS_IMAGE=saas:dev\n\n# The colour.\nSAAS_COLOUR=blue\n", "SAAS_COLOUR is not used"},
		{"required called optional", "env", "# Base64 of 32 random bytes", "# Optional. Base64 of 32 random bytes", "SAAS_MASTER_KEY is marked Optional"},
		{"wrong default", "env", "# Optional (default: 10).", "# Optional (default: 20).", "SAAS_DB_MAX_CONNS"},
		{"secret in the example", "env", "SAAS_DB_IAM_PASSWORD=\n", "SAAS_DB_IAM_PASSWORD=iam\n", "SAAS_DB_IAM_PASSWORD is a required secret"},
		{"admin password in the example", "env", "SAAS_BOOTSTRAP_ADMIN_PASSWORD=\n", "SAAS_BOOTSTRAP_ADMIN_PASSWORD=admin123\n", "SAAS_BOOTSTRAP_ADMIN_PASSWORD is a required secret"},
		{"private key in the example", "env", "SAAS_SERVICE_KEY_IAM=\n", "SAAS_SERVICE_KEY_IAM=iam=aJ9PIdCJHBW9EtNA+BI0cGe26eZCjpwoD8bUAQgHAeM=\n", "SAAS_SERVICE_KEY_IAM is a required secret"},
		{"private key undocumented", "env", "# Secret: uam's private key, the uam=... entry of SAAS_SERVICE_KEYS.\nSAAS_SERVICE_KEY_UAM=\n", "", "${SAAS_SERVICE_KEY_UAM}, which env.example does not document"},
		{"new variable undocumented", "env", "SAAS_ACCESS_TOKEN_TTL=15m\n", "", "${SAAS_ACCESS_TOKEN_TTL}, which env.example does not document"},
	} {
		t.Run(m.name, func(t *testing.T) {
			c, e := compose, example
			target := &c
			if m.file == "env" {
				target = &e
			}
			if !strings.Contains(*target, m.old) {
				t.Fatalf("%s no longer contains %q: update this mutation", m.file, m.old)
			}
			*target = strings.Replace(*target, m.old, m.new, 1)
			problems := append(checkCompose([]byte(c), logins), checkEnvExample(c, e)...)
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					t.Logf("refused: %s", p)
					return
				}
			}
			t.Errorf("broken file accepted: no problem mentions %q; problems: %q", m.want, problems)
		})
	}
}
