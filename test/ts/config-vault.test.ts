// Smoke test of the generated config-vault client against a running server (make test-ts).
// SAAS_TEST_URL is the server's base URL, e.g. http://127.0.0.1:8000; the client adds the
// service path (/config-vault/v1) from the spec. SAAS_TEST_TOKEN, when set, is sent as a bearer token.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createConfigVaultClient } from "../../gen/ts/src/index.js";

const baseUrl = process.env.SAAS_TEST_URL;
if (!baseUrl) {
  throw new Error("SAAS_TEST_URL is not set: the suite needs a running saas server");
}
const token = process.env.SAAS_TEST_TOKEN;

const client = createConfigVaultClient(baseUrl, token ? { headers: { Authorization: `Bearer ${token}` } } : {});

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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
