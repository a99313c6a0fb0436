// The generated uam client against a running server (make test-ts): users and profiles, the password
// policy, roles and what they add up to, the built-in permission catalogue, the credential check
// behind an IAM sign-in, and the documentation pages listing the spec. Tenants and sites come from
// the config-vault client: UAM asks Config Vault whether they exist. Both clients act as the platform
// administrator (see server.ts), who may act in the test's tenant.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";

import { createConfigVaultClient, createUamClient, uamBasePath, type Uam } from "../../gen/ts/src/index.js";
import { adminToken, asAdmin, baseUrl, decodeJwt, iam, signIn, uniqueSuffix, uuidV7 } from "./server.js";

type Problem = Uam.components["schemas"]["Problem"];

const vault = createConfigVaultClient(baseUrl);
vault.use(asAdmin);
const uam = createUamClient(baseUrl);
uam.use(asAdmin);

/** The built-in `editor` role: the same id in every tenant. */
const editorRoleId = "00000000-0000-7000-8000-000000000202";
const goodPassword = "correct horse battery staple";

// One tenant with one site for the whole file; each test makes its own users.
let tenantId = "";
let siteId = "";

before(async () => {
  const s = uniqueSuffix();
  const tenant = await vault.POST("/tenants", { body: { name: `UAM TS ${s}`, domain: `uam-ts-${s}.example.com` } });
  assert.equal(tenant.response.status, 201, JSON.stringify(tenant.error));
  tenantId = tenant.data!.id;
  const site = await vault.POST("/sites", { body: { tenant_id: tenantId, name: "Docs", domain: `docs-uam-ts-${s}.example.com` } });
  assert.equal(site.response.status, 201, JSON.stringify(site.error));
  siteId = site.data!.id;
});

/** Creates a user of the test tenant and fails the test unless the answer is 201. */
async function createUser(body: Uam.components["schemas"]["UserCreate"]) {
  const r = await uam.POST("/tenants/{tenant_id}/users", { params: { path: { tenant_id: tenantId } }, body });
  assert.equal(r.response.status, 201, `create ${body.email}: ${JSON.stringify(r.error)}`);
  return { user: r.data!, etag: r.response.headers.get("ETag") };
}

/** The fields named by a problem's errors array. */
function problemFields(error: unknown): string[] {
  assert.ok(error && typeof error === "object" && "errors" in error, `no errors array in ${JSON.stringify(error)}`);
  return ((error as Problem).errors ?? []).map((e) => e.field);
}

function assertProblem(response: Response, status: number) {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("Content-Type"), "application/problem+json");
}

test("POST /users creates a user with a profile; the password is stored, never returned", async () => {
  const s = uniqueSuffix();
  const email = `Ada.${s}@Example.com`;
  const profile = {
    display_name: "Ada Lovelace",
    given_name: "Ada",
    family_name: "Lovelace",
    locale: "en-GB",
    timezone: "Europe/London",
    phone: "+14155550100",
    metadata: { plan: "pro", seats: 3 },
  };
  const r = await uam.POST("/tenants/{tenant_id}/users", {
    params: { path: { tenant_id: tenantId } },
    body: { email: `  ${email} `, password: goodPassword, profile },
  });
  assert.equal(r.response.status, 201, JSON.stringify(r.error));
  const user = r.data!;
  assert.match(user.id, uuidV7, "id is not a UUIDv7");
  assert.equal(user.tenant_id, tenantId);
  assert.equal(user.email, email, "the email is trimmed and keeps its case");
  assert.equal(user.status, "active", "status defaults to active");
  assert.equal(user.email_verified, false, "email_verified defaults to false");
  assert.equal(user.has_password, true);
  assert.equal(user.last_login_at, undefined, "a new user has never signed in");
  assert.equal(r.response.headers.get("Location"), `${uamBasePath}/tenants/${tenantId}/users/${user.id}`);
  assert.match(r.response.headers.get("ETag") ?? "", /^"[^"]+"$/, "no strong ETag");
  const raw = JSON.stringify(r.data);
  assert.ok(!raw.includes(goodPassword) && !raw.includes("argon2") && !("password" in user), "a password or hash was returned");

  const read = await uam.GET("/tenants/{tenant_id}/users/{user_id}", { params: { path: { tenant_id: tenantId, user_id: user.id } } });
  assert.equal(read.response.status, 200, JSON.stringify(read.error));
  assert.deepEqual(read.data, user);
  assert.equal(read.response.headers.get("ETag"), r.response.headers.get("ETag"), "the read's ETag differs from the create's");

  const prof = await uam.GET("/tenants/{tenant_id}/users/{user_id}/profile", { params: { path: { tenant_id: tenantId, user_id: user.id } } });
  assert.equal(prof.response.status, 200, JSON.stringify(prof.error));
  assert.equal(prof.data!.user_id, user.id);
  assert.equal(prof.data!.tenant_id, tenantId);
  const { metadata, ...text } = profile;
  for (const [k, v] of Object.entries(text)) {
    assert.equal(prof.data![k as keyof typeof text], v, `profile.${k}`);
  }
  assert.deepEqual(prof.data!.metadata, metadata);

  // A tenant Config Vault does not know is 404, and nothing is created for it.
  const unknown = await uam.POST("/tenants/{tenant_id}/users", {
    params: { path: { tenant_id: "01890000-0000-7000-8000-000000000000" } },
    body: { email: `ghost.${s}@example.com`, password: goodPassword },
  });
  assertProblem(unknown.response, 404);
});

test("an email that differs only in case is 409, and the first user is kept", async () => {
  const s = uniqueSuffix();
  const { user } = await createUser({ email: `grace.${s}@example.com`, password: goodPassword });
  const dup = await uam.POST("/tenants/{tenant_id}/users", {
    params: { path: { tenant_id: tenantId } },
    body: { email: `GRACE.${s}@EXAMPLE.COM`, password: "another good passphrase" },
  });
  assertProblem(dup.response, 409);
  const list = await uam.GET("/tenants/{tenant_id}/users", { params: { path: { tenant_id: tenantId }, query: { email: `grace.${s}@` } } });
  assert.equal(list.response.status, 200, JSON.stringify(list.error));
  assert.deepEqual(list.data!.items.map((u) => u.id), [user.id]);
});

test("weak passwords are 400 naming body.password, and no user is created", async () => {
  const s = uniqueSuffix();
  const cases = [
    { password: "password123", why: "one of the most common passwords" },
    { password: "PassWord123", why: "a common password in other case" },
    { password: "iloveyou", why: "a common password of exactly 8 characters" },
    { password: "tr0ub4d", why: "7 characters" },
  ];
  for (const [i, { password, why }] of cases.entries()) {
    const r = await uam.POST("/tenants/{tenant_id}/users", {
      params: { path: { tenant_id: tenantId } },
      body: { email: `weak${i}.${s}@example.com`, password },
    });
    assert.equal(r.response.status, 400, `${why}: ${r.response.status} ${JSON.stringify(r.error ?? r.data)}`);
    assert.equal(r.response.headers.get("Content-Type"), "application/problem+json", why);
    assert.deepEqual(problemFields(r.error), ["body.password"], why);
    assert.ok(!JSON.stringify(r.error).includes(password), `${why}: the problem quotes the password`);
  }
  const list = await uam.GET("/tenants/{tenant_id}/users", { params: { path: { tenant_id: tenantId }, query: { email: `weak` } } });
  assert.equal(list.response.status, 200, JSON.stringify(list.error));
  assert.deepEqual(list.data!.items.filter((u) => u.email.endsWith(`.${s}@example.com`)), [], "a refused user was created");

  // Two letters more and off the list: accepted, so the refusals above are the policy's, not the request's.
  await createUser({ email: `strong.${s}@example.com`, password: "tr0ub4dor" });
});

test("the profile reads with an ETag; If-Match updates it, a stale ETag is 412 and changes nothing", async () => {
  const s = uniqueSuffix();
  const { user } = await createUser({
    email: `linus.${s}@example.com`,
    profile: { display_name: "Linus", given_name: "Linus", phone: "+4915112345678", metadata: { a: 1 } },
  });
  assert.equal(user.has_password, false, "a user created without a password has none");
  const path = { tenant_id: tenantId, user_id: user.id };

  const read = await uam.GET("/tenants/{tenant_id}/users/{user_id}/profile", { params: { path } });
  assert.equal(read.response.status, 200, JSON.stringify(read.error));
  const etag = read.response.headers.get("ETag");
  assert.match(etag ?? "", /^"[^"]+"$/, "no strong ETag on the profile");

  const updated = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/profile", {
    params: { path, header: { "If-Match": etag! } },
    body: { display_name: "Linus T.", phone: "", metadata: { b: 2 } },
  });
  assert.equal(updated.response.status, 200, JSON.stringify(updated.error));
  assert.equal(updated.data!.display_name, "Linus T.");
  assert.equal(updated.data!.given_name, "Linus", "an omitted field lost its value");
  assert.equal(updated.data!.phone, undefined, "an empty string did not clear phone");
  assert.deepEqual(updated.data!.metadata, { b: 2 }, "metadata is replaced whole");
  const newEtag = updated.response.headers.get("ETag");
  assert.ok(newEtag && newEtag !== etag, `the ETag did not change: ${newEtag}`);

  const stale = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/profile", {
    params: { path, header: { "If-Match": etag! } },
    body: { display_name: "Lost update" },
  });
  assertProblem(stale.response, 412);

  const after = await uam.GET("/tenants/{tenant_id}/users/{user_id}/profile", { params: { path } });
  assert.deepEqual(after.data, updated.data);
  assert.equal(after.response.headers.get("ETag"), newEtag);
});

test("GET /users filters by email prefix, case-insensitively, and pages with next_cursor", async () => {
  const s = uniqueSuffix();
  const a = (await createUser({ email: `list-${s}-a@example.com` })).user;
  const b = (await createUser({ email: `LIST-${s}-b@example.com` })).user;
  await createUser({ email: `other-${s}@example.com` });
  const params = (query: { limit?: number; cursor?: string }) => ({
    params: { path: { tenant_id: tenantId }, query: { email: `List-${s}`, ...query } },
  });

  const all = await uam.GET("/tenants/{tenant_id}/users", params({}));
  assert.equal(all.response.status, 200, JSON.stringify(all.error));
  assert.deepEqual(all.data!.items.map((u) => u.email), [a.email, b.email], "not the two matching users, oldest first");
  assert.equal(all.data!.next_cursor, undefined, "a last page has a next_cursor");

  const first = await uam.GET("/tenants/{tenant_id}/users", params({ limit: 1 }));
  assert.deepEqual(first.data!.items.map((u) => u.id), [a.id]);
  assert.ok(first.data!.next_cursor, "no next_cursor after a full page");
  const second = await uam.GET("/tenants/{tenant_id}/users", params({ limit: 1, cursor: first.data!.next_cursor! }));
  assert.deepEqual(second.data!.items.map((u) => u.id), [b.id]);
});

test("a custom role tenant-wide and editor on a site add up to the effective permissions", async () => {
  const s = uniqueSuffix();
  const { user } = await createUser({ email: `roles.${s}@example.com`, password: goodPassword });
  const path = { tenant_id: tenantId, user_id: user.id };

  const role = await uam.POST("/tenants/{tenant_id}/roles", {
    params: { path: { tenant_id: tenantId } },
    body: { name: `auditor-${s}`, description: "Reads users and roles.", permissions: ["users:read", "roles:read"] },
  });
  assert.equal(role.response.status, 201, JSON.stringify(role.error));
  assert.match(role.data!.id, uuidV7);
  assert.equal(role.data!.built_in, false);
  assert.equal(role.data!.tenant_id, tenantId);
  assert.deepEqual(role.data!.permissions, ["roles:read", "users:read"], "permissions are not in name order");
  assert.equal(role.response.headers.get("Location"), `${uamBasePath}/tenants/${tenantId}/roles/${role.data!.id}`);

  const editor = await uam.GET("/tenants/{tenant_id}/roles/{role_id}", { params: { path: { tenant_id: tenantId, role_id: editorRoleId } } });
  assert.equal(editor.response.status, 200, JSON.stringify(editor.error));
  assert.equal(editor.data!.name, "editor");
  assert.equal(editor.data!.built_in, true);
  assert.ok(editor.data!.permissions.includes("content:write"), `editor grants ${editor.data!.permissions.join(", ")}`);

  const wide = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/roles/{role_id}", { params: { path: { ...path, role_id: role.data!.id } } });
  assert.equal(wide.response.status, 201, JSON.stringify(wide.error));
  assert.equal(wide.data!.role_name, `auditor-${s}`);
  assert.equal(wide.data!.site_id, undefined, "a tenant-wide assignment has a site");
  const again = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/roles/{role_id}", { params: { path: { ...path, role_id: role.data!.id } } });
  assert.equal(again.response.status, 200, "assigning a held role again is not 200");
  assert.equal(again.data!.id, wide.data!.id);

  const onSite = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/roles/{role_id}", {
    params: { path: { ...path, role_id: editorRoleId }, query: { site_id: siteId } },
  });
  assert.equal(onSite.response.status, 201, JSON.stringify(onSite.error));
  assert.equal(onSite.data!.site_id, siteId);
  assert.equal(onSite.data!.role_name, "editor");

  const noSite = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/roles/{role_id}", {
    params: { path: { ...path, role_id: editorRoleId }, query: { site_id: randomUUID() } },
  });
  assertProblem(noSite.response, 400);

  const held = await uam.GET("/tenants/{tenant_id}/users/{user_id}/roles", { params: { path } });
  assert.equal(held.response.status, 200, JSON.stringify(held.error));
  assert.deepEqual(held.data!.items.map((x) => x.id), [wide.data!.id, onSite.data!.id], "not the two assignments in order");

  const eff = await uam.GET("/tenants/{tenant_id}/users/{user_id}/permissions", { params: { path } });
  assert.equal(eff.response.status, 200, JSON.stringify(eff.error));
  assert.deepEqual(eff.data, {
    tenant_wide: ["roles:read", "users:read"],
    sites: [{ site_id: siteId, permissions: editor.data!.permissions }],
  });
});

test("GET /permissions lists the built-in catalogue, every scope of the served specs included", async () => {
  const r = await uam.GET("/permissions", { params: { query: { limit: 500 } } });
  assert.equal(r.response.status, 200, JSON.stringify(r.error));
  const items = r.data!.items;
  const names = items.map((p) => p.name);
  assert.deepEqual(names, [...names].sort(), "not in name order");
  for (const p of items) {
    assert.equal(p.built_in, true, `${p.name} is not built in`);
    assert.equal(p.tenant_id, undefined, `${p.name} has a tenant`);
    assert.ok(p.description.length > 0, `${p.name} has no description`);
  }
  assert.equal(items.find((p) => p.name === "credentials:verify")?.level, "platform");
  assert.equal(items.find((p) => p.name === "users:write")?.level, "tenant");

  for (const service of ["config-vault", "iam", "uam"]) {
    const res = await fetch(`${baseUrl}/${service}/v1/openapi.json`); // specs are open
    assert.equal(res.status, 200, `${service} spec`);
    const spec = (await res.json()) as { components: { securitySchemes: Record<string, { flows?: Record<string, { scopes?: Record<string, string> }> }> } };
    const scopes = Object.values(spec.components.securitySchemes).flatMap((scheme) =>
      Object.values(scheme.flows ?? {}).flatMap((flow) => Object.keys(flow.scopes ?? {})),
    );
    assert.ok(scopes.length > 0, `${service} declares no scopes`);
    const missing = scopes.filter((scope) => !names.includes(scope));
    assert.deepEqual(missing, [], `${service} scopes missing from the catalogue`);
  }

  const page = await uam.GET("/permissions", { params: { query: { limit: 2 } } });
  assert.deepEqual(page.data!.items.map((p) => p.name), names.slice(0, 2));
  const next = await uam.GET("/permissions", { params: { query: { limit: 2, cursor: page.data!.next_cursor! } } });
  assert.deepEqual(next.data!.items.map((p) => p.name), names.slice(2, 4));
});

test("an IAM sign-in checks the password with UAM: roles and permissions reach the token; a wrong password and an unknown email get the same 401", async () => {
  const s = uniqueSuffix();
  const email = `login.${s}@example.com`;
  const { user } = await createUser({ email, password: goodPassword });
  const path = { tenant_id: tenantId, user_id: user.id };
  const role = await uam.POST("/tenants/{tenant_id}/roles", {
    params: { path: { tenant_id: tenantId } },
    body: { name: `reader-${s}`, permissions: ["users:read"] },
  });
  assert.equal(role.response.status, 201, JSON.stringify(role.error));
  for (const [roleId, query] of [[role.data!.id, {}], [editorRoleId, { site_id: siteId }]] as const) {
    const a = await uam.PUT("/tenants/{tenant_id}/users/{user_id}/roles/{role_id}", { params: { path: { ...path, role_id: roleId }, query } });
    assert.equal(a.response.status, 201, JSON.stringify(a.error));
  }
  const effective = await uam.GET("/tenants/{tenant_id}/users/{user_id}/permissions", { params: { path } });
  assert.equal(effective.response.status, 200);

  // The email is compared like the stored one: trimmed, any case.
  const tokens = await signIn(` ${email.toUpperCase()} `, goodPassword, tenantId);
  const { claims } = decodeJwt(tokens.access_token);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.tenant_id, tenantId);
  assert.deepEqual([...(claims.roles as string[])].sort(), ["editor", `reader-${s}`].sort(), "not the roles held");
  const words = (v: unknown) => (typeof v === "string" ? v.split(" ").filter(Boolean).sort() : []);
  assert.deepEqual(words(claims.scope), effective.data!.tenant_wide, "scope is not the tenant-wide permissions");
  const siteScope = (claims.site_scope ?? {}) as Record<string, string>;
  assert.deepEqual(Object.keys(siteScope), [siteId], "site_scope names other sites");
  assert.deepEqual(words(siteScope[siteId]), [...effective.data!.sites[0]!.permissions].sort(), "site_scope is not the editor's permissions");
  assert.ok(!JSON.stringify(tokens).includes(goodPassword), "the password was returned");

  const read = await uam.GET("/tenants/{tenant_id}/users/{user_id}", { params: { path } });
  assert.ok(read.data!.last_login_at && !Number.isNaN(Date.parse(read.data!.last_login_at)), "last_login_at was not recorded");

  // The user's own token reads within its tenant (users:read tenant-wide), and nowhere else.
  const own = { Authorization: `Bearer ${tokens.access_token}` };
  const self = await uam.GET("/tenants/{tenant_id}/users/{user_id}", { params: { path }, headers: own });
  assert.equal(self.response.status, 200, JSON.stringify(self.error));
  const platformTenant = decodeJwt(await adminToken()).claims.tenant_id as string;
  const elsewhere = await uam.GET("/tenants/{tenant_id}/users", { params: { path: { tenant_id: platformTenant } }, headers: own });
  assertProblem(elsewhere.response, 404);

  const wrong = await iam.POST("/auth/login", { body: { tenant_id: tenantId, email, password: `${goodPassword}!` } });
  assertProblem(wrong.response, 401);
  const unknown = await iam.POST("/auth/login", { body: { tenant_id: tenantId, email: `nobody.${s}@example.com`, password: goodPassword } });
  assertProblem(unknown.response, 401);
  assert.ok(wrong.error?.detail, "the 401 has no detail");
  assert.equal(unknown.error?.detail, wrong.error.detail, "an unknown email and a wrong password are told apart");
  assert.equal(unknown.error?.title, wrong.error.title);
  assert.equal(unknown.error?.type, wrong.error.type);
  assert.ok(!JSON.stringify(wrong.error).includes(goodPassword), "the problem quotes the password");

  // The credential check itself is the IAM service's alone: any access token, a platform
  // administrator's included, is 403.
  for (const [who, headers] of [["the user", own], ["the platform administrator", {}]] as const) {
    const check = await uam.POST("/internal/credential-checks", { body: { tenant_id: tenantId, email, password: goodPassword }, headers });
    assertProblem(check.response, 403);
    assert.equal(check.data, undefined, `${who}'s token ran a credential check`);
  }
});

test("DELETE /users/{user_id} is 204, then the user, its profile and its sign-in are gone", async () => {
  const s = uniqueSuffix();
  const email = `gone.${s}@example.com`;
  const { user, etag } = await createUser({ email, password: goodPassword, profile: { display_name: "Gone" } });
  const path = { tenant_id: tenantId, user_id: user.id };
  assert.ok(etag, "no ETag on create");

  const del = await uam.DELETE("/tenants/{tenant_id}/users/{user_id}", { params: { path, header: { "If-Match": etag! } } });
  assert.equal(del.response.status, 204, JSON.stringify(del.error));

  const read = await uam.GET("/tenants/{tenant_id}/users/{user_id}", { params: { path } });
  assertProblem(read.response, 404);
  const prof = await uam.GET("/tenants/{tenant_id}/users/{user_id}/profile", { params: { path } });
  assertProblem(prof.response, 404);
  const again = await uam.DELETE("/tenants/{tenant_id}/users/{user_id}", { params: { path } });
  assertProblem(again.response, 404);
  const login = await iam.POST("/auth/login", { body: { tenant_id: tenantId, email, password: goodPassword } });
  assertProblem(login.response, 401);
});

test("Swagger UI and ReDoc list the uam spec next to config-vault's, without a token", async () => {
  const page = await fetch(`${baseUrl}/docs`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const block = /<script id="docs-config" type="application\/json">([^<]*)<\/script>/.exec(html);
  assert.ok(block?.[1], "no docs-config block on /docs");
  const config = JSON.parse(block[1]) as { urls: { url: string; name: string }[] };
  assert.deepEqual(
    config.urls.filter((u) => u.name === "config-vault" || u.name === "uam"),
    [
      { url: "/config-vault/v1/openapi.json", name: "config-vault" },
      { url: `${uamBasePath}/openapi.json`, name: "uam" },
    ],
  );

  const spec = await fetch(`${baseUrl}${uamBasePath}/openapi.json`);
  assert.equal(spec.status, 200);
  assert.match(spec.headers.get("Content-Type") ?? "", /^application\/json/);
  const doc = (await spec.json()) as { info: { title: string }; servers: { url: string }[]; paths: Record<string, unknown> };
  assert.equal(doc.info.title, "UAM");
  assert.equal(doc.servers[0]?.url, uamBasePath);
  assert.ok("/internal/credential-checks" in doc.paths);

  const redoc = await fetch(`${baseUrl}/redoc?spec=uam`);
  assert.equal(redoc.status, 200);
  assert.ok((await redoc.text()).includes(`"url":"${uamBasePath}/openapi.json"`), "ReDoc's page does not load the uam spec");
});
