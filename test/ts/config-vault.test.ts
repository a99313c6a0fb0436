// Smoke test of the generated config-vault client against a running server (make test-ts), signed
// in as the platform administrator (see server.ts). The client adds the service path
// (/config-vault/v1) from the spec to SAAS_TEST_URL.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createConfigVaultClient } from "../../gen/ts/src/index.js";
import { asAdmin, baseUrl, uuidV7 } from "./server.js";

const client = createConfigVaultClient(baseUrl);
client.use(asAdmin);

test("GET /tenants answers 200 with an items array", async () => {
  const { data, error, response } = await client.GET("/tenants");
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.ok(data, "no body");
  assert.ok(Array.isArray(data.items), "items is not an array");
  assert.ok(data.next_cursor === null || typeof data.next_cursor === "string", "next_cursor is neither null nor a string");
});

test("POST /tenants creates a tenant that reads back", async () => {
  const suffix = randomUUID().slice(0, 8);
  const body = { name: `TS smoke ${suffix}`, domain: `ts-smoke-${suffix}.example.com` };

  const created = await client.POST("/tenants", { body });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  assert.ok(created.data, "no body");
  const tenant = created.data;
  assert.match(tenant.id, uuidV7, "id is not a UUIDv7");
  assert.equal(tenant.name, body.name);
  assert.equal(tenant.domain, body.domain);
  assert.equal(tenant.is_active, true, "is_active defaults to true");
  assert.ok(!Number.isNaN(Date.parse(tenant.created_at)), "created_at is not a timestamp");
  assert.ok(!Number.isNaN(Date.parse(tenant.updated_at)), "updated_at is not a timestamp");

  const read = await client.GET("/tenants/{tenant_id}", { params: { path: { tenant_id: tenant.id } } });
  assert.equal(read.response.status, 200, JSON.stringify(read.error));
  assert.deepEqual(read.data, tenant);
});

test("a site, a key and the JWKS that publishes it", async () => {
  const suffix = randomUUID().slice(0, 8);
  const tenant = await client.POST("/tenants", { body: { name: `TS keys ${suffix}`, domain: `ts-keys-${suffix}.example.com` } });
  assert.equal(tenant.response.status, 201);
  const tenantId = tenant.data!.id;

  const site = await client.POST("/sites", { body: { tenant_id: tenantId, name: "Blog", domain: `blog-${suffix}.example.com` } });
  assert.equal(site.response.status, 201, JSON.stringify(site.error));
  assert.equal(site.response.headers.get("Location"), `/config-vault/v1/sites/${site.data!.id}`);

  const key = await client.POST("/keys", { body: { tenant_id: tenantId, site_id: site.data!.id, algorithm: "ES256", expires_in_days: 30 } });
  assert.equal(key.response.status, 201, JSON.stringify(key.error));
  assert.equal(key.data!.status, "active");
  assert.equal(key.data!.public_jwk.kty, "EC");
  assert.equal(key.data!.public_jwk.kid, key.data!.kid);
  assert.ok(!JSON.stringify(key.data).includes("PRIVATE"), "a private key was returned");

  const byKid = await client.GET("/keys/{key}", { params: { path: { key: key.data!.kid } } });
  assert.equal(byKid.data!.id, key.data!.id);

  const jwks = await client.GET("/sites/{site_id}/jwks.json", { params: { path: { site_id: site.data!.id } } });
  assert.equal(jwks.response.status, 200);
  assert.match(jwks.response.headers.get("Cache-Control") ?? "", /max-age=\d+/);
  assert.deepEqual(jwks.data!.keys.map((k) => k.kid), [key.data!.kid]);

  const revoked = await client.POST("/keys/{key}/revoke", { params: { path: { key: key.data!.id } } });
  assert.equal(revoked.data!.status, "revoked");
  const after = await client.GET("/sites/{site_id}/jwks.json", { params: { path: { site_id: site.data!.id } } });
  assert.deepEqual(after.data!.keys, []);
  const reactivate = await client.POST("/keys/{key}/activate", { params: { path: { key: key.data!.id } } });
  assert.equal(reactivate.response.status, 409);
  assert.equal(reactivate.response.headers.get("Content-Type"), "application/problem+json");
});

test("invalid input is a problem naming the field, and nothing is written", async () => {
  const before = await client.GET("/tenants", { params: { query: { limit: 500 } } });
  // Deliberately wrong types: the typed client would not let us, so go through a cast.
  const bad = await client.POST("/tenants", { body: { name: 42, domain: "not a host" } as never });
  assert.equal(bad.response.status, 400);
  assert.equal(bad.response.headers.get("Content-Type"), "application/problem+json");
  assert.ok(bad.error && "errors" in bad.error);
  const fields = (bad.error.errors ?? []).map((e) => e.field);
  assert.ok(fields.includes("body.name"), `errors name ${fields.join(", ")}`);
  const after = await client.GET("/tenants", { params: { query: { limit: 500 } } });
  assert.equal(after.data!.items.length, before.data!.items.length);
});

test("a stale If-Match is refused with 412 and changes nothing", async () => {
  const suffix = randomUUID().slice(0, 8);
  const created = await client.POST("/tenants", { body: { name: "Before", domain: `ts-412-${suffix}.example.com` } });
  const id = created.data!.id;
  const etag = created.response.headers.get("ETag")!;
  const first = await client.PUT("/tenants/{tenant_id}", { params: { path: { tenant_id: id }, header: { "If-Match": etag } }, body: { name: "First" } });
  assert.equal(first.response.status, 200);
  const second = await client.PUT("/tenants/{tenant_id}", { params: { path: { tenant_id: id }, header: { "If-Match": etag } }, body: { name: "Second" } });
  assert.equal(second.response.status, 412);
  const read = await client.GET("/tenants/{tenant_id}", { params: { path: { tenant_id: id } } });
  assert.equal(read.data!.name, "First");
});

test("an Idempotency-Key replays the first answer", async () => {
  const suffix = randomUUID().slice(0, 8);
  const key = randomUUID();
  const body = { name: "Idem", domain: `ts-idem-${suffix}.example.com` };
  const params = { header: { "Idempotency-Key": key } };
  const first = await client.POST("/tenants", { params, body });
  const replay = await client.POST("/tenants", { params, body });
  assert.equal(first.response.status, 201);
  assert.equal(replay.response.status, 201);
  assert.equal(replay.response.headers.get("Idempotent-Replayed"), "true");
  assert.deepEqual(replay.data, first.data);
  const other = await client.POST("/tenants", { params, body: { ...body, name: "Changed" } });
  assert.equal(other.response.status, 422);
});
