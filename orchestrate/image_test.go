package orchestrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		} else if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " "), start})
		cur.Reset()
	}
	return out
}

// goVersion is the go directive of go.mod: the Go the image builds with.
func goVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join("..", "go.mod")))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return m[1]
}

// The Dockerfile: a Go build stage on the project's Go version producing a
// static, stripped binary, and a distroless non-root final stage that runs
// it, with a HEALTHCHECK by the binary itself (the base has no shell).
func TestDockerfile(t *testing.T) {
	for _, p := range checkDockerfile(readFile(t, filepath.Join("..", "Dockerfile")), goVersion(t)) {
		t.Error(p)
	}
}

func checkDockerfile(text, goVer string) []string {
	var p []string
	ins := parseDockerfile(text)
	var stages [][]instruction
	var preamble []instruction
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			stages = append(stages, []instruction{in})
		case len(stages) == 0:
			preamble = append(preamble, in)
		default:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		return []string{fmt.Sprintf("Dockerfile: %d stages, want a build stage and a final one", len(stages))}
	}
	args := map[string]string{}
	for _, in := range preamble {
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		}
	}
	expand := func(s string) string {
		for k, v := range args {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}

	// The build stage.
	build := stages[0]
	from := strings.Fields(expand(build[0].args))
	if len(from) < 3 || !strings.EqualFold(from[len(from)-2], "AS") {
		return append(p, "Dockerfile: the first stage must be named (FROM ... AS build)")
	}
	image := from[len(from)-3]
	if !strings.HasPrefix(image, "golang:"+goVer+"-") && image != "golang:"+goVer {
		p = append(p, fmt.Sprintf("Dockerfile: build stage FROM %s, want golang:%s (go.mod's go directive)", image, goVer))
	}
	buildName := from[len(from)-1]
	if !slices.ContainsFunc(build, func(in instruction) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") &&
			strings.Contains(in.args, "go build -trimpath -ldflags='-s -w' -o /saas ./cmd/saas")
	}) {
		p = append(p, "Dockerfile: no RUN with CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /saas ./cmd/saas in the build stage")
	}

	// The final stage.
	final := stages[len(stages)-1]
	if got := final[0].args; got != "gcr.io/distroless/static-debian12:nonroot" {
		p = append(p, "Dockerfile: final stage FROM "+got+", want gcr.io/distroless/static-debian12:nonroot")
	}
	last := map[string]instruction{}
	for _, in := range final {
		last[in.cmd] = in
		if in.cmd == "RUN" {
			p = append(p, fmt.Sprintf("Dockerfile:%d: RUN in the final stage; the distroless base has no shell", in.line))
		}
	}
	if !slices.ContainsFunc(final, func(in instruction) bool {
		return in.cmd == "COPY" && in.args == "--from="+buildName+" /saas /saas"
	}) {
		p = append(p, "Dockerfile: the final stage must COPY --from="+buildName+" /saas /saas")
	}
	user := strings.Split(last["USER"].args, ":")[0]
	if user == "" || user == "0" || user == "root" {
		p = append(p, fmt.Sprintf("Dockerfile: final stage USER %q; run as an unprivileged user, by number", last["USER"].args))
	}
	if hc, ok := last["HEALTHCHECK"]; !ok {
		p = append(p, "Dockerfile: no HEALTHCHECK")
	} else if i := strings.Index(hc.args, "CMD "); i < 0 || execForm(hc.args[i+4:]) == nil ||
		!slices.Equal(execForm(hc.args[i+4:]), []string{"/saas", "healthcheck"}) {
		p = append(p, "Dockerfile: HEALTHCHECK must be CMD [\"/saas\", \"healthcheck\"] (exec form: there is no shell)")
	}
	if ep := execForm(last["ENTRYPOINT"].args); !slices.Equal(ep, []string{"/saas"}) {
		p = append(p, "Dockerfile: ENTRYPOINT must be [\"/saas\"], so the command chooses the service")
	}
	if !strings.Contains(" "+last["EXPOSE"].args+" ", fmt.Sprintf(" %d ", servicePort)) {
		p = append(p, fmt.Sprintf("Dockerfile: EXPOSE %d", servicePort))
	}
	return p
}

func execForm(s string) []string {
	var out []string
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

// dockerignore is a .dockerignore: patterns matched against paths relative
// to the build context, the last matching one deciding, "!" re-including.
type dockerignore []string

func parseDockerignore(text string) dockerignore {
	var d dockerignore
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			d = append(d, line)
		}
	}
	return d
}

func (d dockerignore) excludes(p string) bool {
	excluded := false
	for _, pat := range d {
		neg := strings.HasPrefix(pat, "!")
		pat = path.Clean(strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/"))
		// A pattern matches the path or any directory above it.
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok {
				excluded = !neg
				break
			}
		}
	}
	return excluded
}

// buildInputs lists the files `go build ./cmd/saas` reads from the
// repository: go.mod, go.sum, and the Go and embedded files of every package
// of the module the binary is made of.
func buildInputs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles", "./cmd/saas")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			Dir                 string
			Module              *struct{ Path string }
			GoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || pkg.Module.Path != "github.com/saasplatform/saas" || pkg.Dir == "" {
			continue
		}
		rel, err := filepath.Rel(root, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(pkg.GoFiles, pkg.EmbedFiles...) {
			inputs = append(inputs, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if !slices.Contains(inputs, "cmd/saas/main.go") {
		t.Fatalf("go list found no cmd/saas/main.go among %d inputs", len(inputs))
	}
	return inputs
}

// .dockerignore keeps the build context small and secret-free without
// leaving out anything the build reads.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	d := parseDockerignore(readFile(t, filepath.Join("..", ".dockerignore")))
	for _, p := range checkDockerignore(d, buildInputs(t)) {
		t.Error(p)
	}
}

func checkDockerignore(d dockerignore, inputs []string) []string {
	var p []string
	for _, in := range inputs {
		if d.excludes(in) {
			p = append(p, ".dockerignore excludes "+in+", which the build needs")
		}
	}
	for _, out := range []string{".git/HEAD", "node_modules/x/package.json", ".data/master.key", "orchestrate/.env", ".env", "bin/saas"} {
		if !d.excludes(out) {
			p = append(p, ".dockerignore lets "+out+" into the build context")
		}
	}
	return p
}

// The image checks can fail.
func TestImageChecksCatchBrokenFiles(t *testing.T) {
	dockerfile := readFile(t, filepath.Join("..", "Dockerfile"))
	ignore := readFile(t, filepath.Join("..", ".dockerignore"))
	inputs := []string{"go.mod", "go.sum", "cmd/saas/main.go", "internal/platform/docspage/page.go", "gen/docs/assets/swagger-ui.css", "schema/configvault/00001_init.sql"}
	if p := checkDockerignore(parseDockerignore(ignore), inputs); len(p) > 0 {
		t.Fatalf("the real .dockerignore fails: %q", p)
	}
	for _, m := range []struct {
		name, file, old, new, want string
	}{
		{"cgo", "Dockerfile", "    CGO_ENABLED=0 go build", "    CGO_ENABLED=1 go build", "CGO_ENABLED=0"},
		{"other Go", "Dockerfile", "ARG GO_VERSION=1", "ARG GO_VERSION=0.9", "go.mod's go directive"},
		{"fat base", "Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm", "final stage FROM"},
		{"root", "Dockerfile", "USER 65532:65532", "USER root", "unprivileged"},
		{"shell health check", "Dockerfile", `CMD ["/saas", "healthcheck"]`, "CMD /saas healthcheck", "HEALTHCHECK"},
		{"no health check", "Dockerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"},
		{"shell in final stage", "Dockerfile", "COPY --from=build /saas /saas", "COPY --from=build /saas /saas\nRUN chmod 755 /saas", "RUN in the final stage"},
		{"ignores embedded files", ".dockerignore", "test\n", "test\ngen/docs\n", "gen/docs/assets/swagger-ui.css"},
		{"ignores a package", ".dockerignore", "test\n", "test\ninternal\n", "internal/platform/docspage/page.go"},
		{"lets secrets in", ".dockerignore", "orchestrate\n", "", "orchestrate/.env"},
	} {
		t.Run(m.name, func(t *testing.T) {
			df, di := dockerfile, ignore
			target := &df
			if m.file == ".dockerignore" {
				target = &di
			}
			if !strings.Contains(*target, m.old) {
				t.Fatalf("%s no longer contains %q: update this mutation", m.file, m.old)
			}
			*target = strings.Replace(*target, m.old, m.new, 1)
			problems := append(checkDockerfile(df, "1.26.8"), checkDockerignore(parseDockerignore(di), inputs)...)
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
