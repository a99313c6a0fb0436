package docspage

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The Swagger UI page configures the pasted-token scheme, and loads the plugin that adds it
// before the script that starts Swagger UI with it.
func TestSwaggerPageOffersPastedToken(t *testing.T) {
	h := Handler(testSpecs)
	page := body(t, do(t, h, http.MethodGet, "/docs", nil))

	var cfg struct {
		TokenScheme *struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tokenScheme"`
	}
	pageConfig(t, page, &cfg)
	if cfg.TokenScheme == nil {
		t.Fatal("docs-config has no tokenScheme: Swagger UI's Authorize would offer client credentials only")
	}
	if cfg.TokenScheme.Name != TokenSchemeName {
		t.Errorf("tokenScheme.name %q, want %q", cfg.TokenScheme.Name, TokenSchemeName)
	}
	if !strings.Contains(cfg.TokenScheme.Description, "access_token") || !strings.Contains(cfg.TokenScheme.Description, "Authorization: Bearer") {
		t.Errorf("tokenScheme.description does not say what to paste: %q", cfg.TokenScheme.Description)
	}

	plugin := strings.Index(page, AssetsPath+"swagger-token.js?v=")
	init := strings.Index(page, AssetsPath+"swagger-init.js?v=")
	bundle := strings.Index(page, AssetsPath+"swagger-ui-bundle.js?v=")
	if plugin < 0 || init < 0 || bundle < 0 || !(bundle < plugin && plugin < init) {
		t.Errorf("scripts out of order: bundle at %d, swagger-token.js at %d, swagger-init.js at %d", bundle, plugin, init)
	}

	// What the page links is served, and the init script hands the configuration to the plugin.
	var served string
	for _, l := range links(page) {
		if strings.HasPrefix(l, AssetsPath+"swagger-token.js?v=") {
			res := do(t, h, http.MethodGet, l, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
				t.Fatalf("GET %s: status %d, Content-Type %q", l, res.StatusCode, res.Header.Get("Content-Type"))
			}
			served = body(t, res)
		}
	}
	want, err := fs.ReadFile(static, "static/swagger-token.js")
	if err != nil {
		t.Fatal(err)
	}
	if served != string(want) {
		t.Error("the served swagger-token.js is not the embedded one")
	}
	initJS, err := fs.ReadFile(static, "static/swagger-init.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(initJS, []byte("SaasDocs.tokenSchemePlugin(cfg.tokenScheme)")) {
		t.Error("swagger-init.js does not install the token scheme plugin with the page's configuration")
	}
}

// tokenSchemeCase is one input of swagger-token.js's addTokenScheme and what it must answer.
type tokenSchemeCase struct {
	Name string         `json:"name"`
	Spec map[string]any `json:"spec"`
	Want map[string]any `json:"-"`
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("fixture: %v\n%s", err, s)
	}
	return v
}

// runNode runs script with node, the JavaScript file at jsPath as its first argument and input
// on stdin, and decodes what it prints. It skips the test when node is not installed (make
// test-ts, which needs node, runs the same code against the served specs).
func runNode(t *testing.T, script, jsPath string, input, output any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: swagger-token.js is not run here")
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, jsPath)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, output); err != nil {
		t.Fatalf("node printed no JSON: %v\n%s", err, out)
	}
}

// The plugin's transformation, run by node over specs that exercise each rule: an alternative
// requirement for every OAuth 2.0 one (inherited, scoped, combined with another scheme), none
// for open operations or other schemes, no duplicates, and specs it must leave alone.
func TestSwaggerTokenSchemeTransform(t *testing.T) {
	js, err := fs.ReadFile(static, "static/swagger-token.js")
	if err != nil {
		t.Fatal(err)
	}
	jsPath := filepath.Join(t.TempDir(), "swagger-token.js")
	if err := os.WriteFile(jsPath, js, 0o600); err != nil {
		t.Fatal(err)
	}

	schemes := `"bearer": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/iam/v1/oauth2/token", "scopes": {"a:read": "r", "a:write": "w"}}}},
		"key": {"type": "apiKey", "in": "header", "name": "X-Key"}`
	spec := mustJSON(t, `{
	  "openapi": "3.0.3",
	  "info": {"title": "T", "version": "1"},
	  "security": [{"bearer": []}],
	  "paths": {
	    "/open": {"post": {"security": [], "responses": {}}},
	    "/inherited": {"get": {"responses": {}}, "parameters": []},
	    "/scoped": {
	      "get": {"security": [{"bearer": ["a:read"]}]},
	      "put": {"security": [{"bearer": ["a:write"]}, {"bearer": ["a:read", "a:write"]}]}
	    },
	    "/combined": {"delete": {"security": [{"bearer": ["a:write"], "key": []}]}},
	    "/listed": {"get": {"security": [{"bearer": ["a:read"]}, {"accessToken": []}]}},
	    "/key": {"get": {"security": [{"key": []}]}}
	  },
	  "components": {"securitySchemes": {`+schemes+`}}
	}`)
	want := mustJSON(t, `{
	  "openapi": "3.0.3",
	  "info": {"title": "T", "version": "1"},
	  "security": [{"bearer": []}, {"accessToken": []}],
	  "paths": {
	    "/open": {"post": {"security": [], "responses": {}}},
	    "/inherited": {"get": {"responses": {}}, "parameters": []},
	    "/scoped": {
	      "get": {"security": [{"bearer": ["a:read"]}, {"accessToken": []}]},
	      "put": {"security": [{"bearer": ["a:write"]}, {"bearer": ["a:read", "a:write"]}, {"accessToken": []}]}
	    },
	    "/combined": {"delete": {"security": [{"bearer": ["a:write"], "key": []}, {"accessToken": [], "key": []}]}},
	    "/listed": {"get": {"security": [{"bearer": ["a:read"]}, {"accessToken": []}]}},
	    "/key": {"get": {"security": [{"key": []}]}}
	  },
	  "components": {"securitySchemes": {`+schemes+`,
	    "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "DESCRIPTION"}}}
	}`)
	want["components"].(map[string]any)["securitySchemes"].(map[string]any)["accessToken"].(map[string]any)["description"] = tokenSchemeDescription

	unchanged := func(name, s string) tokenSchemeCase {
		v := mustJSON(t, s)
		return tokenSchemeCase{Name: name, Spec: v, Want: v}
	}
	cases := []tokenSchemeCase{
		{Name: "oauth2 requirements gain an alternative", Spec: spec, Want: want},
		unchanged("Swagger 2.0", `{"swagger": "2.0", "security": [{"bearer": []}],
			"securityDefinitions": {"bearer": {"type": "oauth2", "flow": "application", "tokenUrl": "/t", "scopes": {}}}}`),
		unchanged("no OAuth 2.0 scheme", `{"openapi": "3.0.3", "security": [{"key": []}],
			"components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}}}`),
		unchanged("the name is taken", `{"openapi": "3.0.3", "security": [{"bearer": []}],
			"components": {"securitySchemes": {"bearer": {"type": "oauth2", "flows": {}}, "accessToken": {"type": "apiKey", "in": "query", "name": "t"}}}}`),
		unchanged("no components", `{"openapi": "3.0.3", "paths": {}}`),
	}

	// For each case: the result, whether the input object was changed in place, and what the
	// Swagger UI plugin hands to the action it wraps (the transformed spec, other arguments as given).
	const script = `
const fs = require("fs"), vm = require("vm");
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"), { filename: "swagger-token.js" });
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const out = input.cases.map(({ spec }) => {
  const before = JSON.stringify(spec);
  const result = SaasDocs.addTokenScheme(spec, input.scheme);
  let passed;
  const wrapped = SaasDocs.tokenSchemePlugin(input.scheme)().statePlugins.spec.wrapActions.updateJsonSpec(
    (...args) => { passed = args; return "dispatched"; });
  const answer = wrapped(JSON.parse(before), "extra");
  return { result, mutated: JSON.stringify(spec) !== before, plugin: { passed, answer } };
});
process.stdout.write(JSON.stringify(out));
`
	var got []struct {
		Result  map[string]any `json:"result"`
		Mutated bool           `json:"mutated"`
		Plugin  struct {
			Passed []any  `json:"passed"`
			Answer string `json:"answer"`
		} `json:"plugin"`
	}
	input := map[string]any{"cases": cases, "scheme": tokenScheme{Name: TokenSchemeName, Description: tokenSchemeDescription}}
	runNode(t, script, jsPath, input, &got)
	if len(got) != len(cases) {
		t.Fatalf("node answered %d results for %d cases", len(got), len(cases))
	}
	for i, tc := range cases {
		g := got[i]
		if !reflect.DeepEqual(g.Result, tc.Want) {
			gj, _ := json.MarshalIndent(g.Result, "", "  ")
			wj, _ := json.MarshalIndent(tc.Want, "", "  ")
			t.Errorf("%s: addTokenScheme =\n%s\nwant\n%s", tc.Name, gj, wj)
		}
		if g.Mutated {
			t.Errorf("%s: addTokenScheme changed its input", tc.Name)
		}
		if g.Plugin.Answer != "dispatched" || len(g.Plugin.Passed) != 2 || g.Plugin.Passed[1] != "extra" ||
			!reflect.DeepEqual(g.Plugin.Passed[0], tc.Want) {
			t.Errorf("%s: the plugin passed %v to updateJsonSpec and answered %q", tc.Name, g.Plugin.Passed, g.Plugin.Answer)
		}
	}
}
