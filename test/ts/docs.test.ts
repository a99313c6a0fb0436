// The documentation page against a running server (make test-ts): Swagger UI's "Authorize" takes a
// pasted access token. The page's swagger-token.js shows Swagger UI each spec with an http bearer
// scheme as an alternative to every OAuth 2.0 requirement; here it runs, as the browser runs it,
// over every spec the page lists, as served.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runInThisContext } from "node:vm";

import { baseUrl } from "./server.js";

type Requirement = Record<string, string[]>;
type Operation = { security?: Requirement[] };
type Spec = {
  openapi: string;
  security?: Requirement[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
};
type TokenScheme = { name: string; description: string };
type SaasDocs = { addTokenScheme(spec: Spec, scheme: TokenScheme): Spec };

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

test("Swagger UI's view of every served spec offers a pasted bearer token wherever a token is needed", async () => {
  const page = await (await fetch(`${baseUrl}/docs`)).text();
  const block = /<script id="docs-config" type="application\/json">([^<]*)<\/script>/.exec(page);
  assert.ok(block?.[1], "no docs-config block on /docs");
  const config = JSON.parse(block[1]) as { urls: { url: string; name: string }[]; tokenScheme?: TokenScheme };
  const scheme = config.tokenScheme;
  assert.ok(scheme?.name, "the page configures no token scheme");

  const src = /<script src="(\/docs\/assets\/swagger-token\.js\?v=[^"]+)"><\/script>/.exec(page);
  assert.ok(src?.[1], "the page does not load swagger-token.js");
  const js = await fetch(`${baseUrl}${src[1]}`);
  assert.equal(js.status, 200);
  runInThisContext(await js.text(), { filename: "swagger-token.js" });
  const docs = (globalThis as unknown as { SaasDocs: SaasDocs }).SaasDocs;

  assert.ok(config.urls.some((u) => u.name === "iam"), "the page does not list the iam spec");
  for (const { url, name } of config.urls) {
    const res = await fetch(`${baseUrl}${url}`);
    assert.equal(res.status, 200, `${name}: GET ${url}`);
    const spec = (await res.json()) as Spec;
    const view = docs.addTokenScheme(spec, scheme);

    assert.deepEqual(view.components.securitySchemes[scheme.name], {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description: scheme.description,
    }, `${name}: the scheme added`);
    assert.deepEqual(
      Object.fromEntries(Object.entries(view.components.securitySchemes).filter(([k]) => k !== scheme.name)),
      spec.components.securitySchemes,
      `${name}: the spec's own schemes changed`,
    );

    let secured = 0;
    let open = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of methods) {
        const op = item[method];
        if (!op) continue;
        const where = `${name}: ${method.toUpperCase()} ${path}`;
        const before = op.security ?? spec.security ?? [];
        const after = view.paths[path]![method]!.security ?? view.security ?? [];
        if (before.length === 0) {
          open++;
          assert.deepEqual(after, [], `${where} is open, and must stay so`);
          continue;
        }
        secured++;
        assert.deepEqual(after.slice(0, before.length), before, `${where}: its own requirements changed`);
        assert.ok(after.some((r) => JSON.stringify(r) === JSON.stringify({ [scheme.name]: [] })), `${where}: no ${scheme.name} alternative`);
      }
    }
    assert.ok(secured > 0, `${name}: no operation needs a token`);
    if (name === "iam") {
      assert.ok(open > 0, "iam: sign-in and discovery are not open");
    }
  }
});
