// The generated content client against a running server (make test-ts): an item's draft and live
// versions, revisions, search, delivery with its ETag, and the trash. The tenant and its site come
// from the config-vault client; both clients act as the platform administrator (see server.ts), who
// may act in the test's tenant. Scheduled publishing, access rules and the bad-input answers are
// proved by the Go tests (internal/content); this suite proves the TypeScript client's types and
// paths match the server.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { contentBasePath, createConfigVaultClient, createContentClient, type Content } from "../../gen/ts/src/index.js";
import { adminToken, asAdmin, baseUrl, uniqueSuffix, uuidV7 } from "./server.js";

type Problem = Content.components["schemas"]["Problem"];

const vault = createConfigVaultClient(baseUrl);
vault.use(asAdmin);
const content = createContentClient(baseUrl);
content.use(asAdmin);

let tenantId = "";
let siteId = "";

before(async () => {
  const s = uniqueSuffix();
  const tenant = await vault.POST("/tenants", { body: { name: `Content TS ${s}`, domain: `content-ts-${s}.example.com` } });
  assert.equal(tenant.response.status, 201, JSON.stringify(tenant.error));
  tenantId = tenant.data!.id;
  const site = await vault.POST("/sites", { body: { tenant_id: tenantId, name: "Blog", domain: `blog-content-ts-${s}.example.com` } });
  assert.equal(site.response.status, 201, JSON.stringify(site.error));
  siteId = site.data!.id;
});

const itemPath = () => ({ tenant_id: tenantId, site_id: siteId });

async function createItem(body: Content.components["schemas"]["ItemCreate"]) {
  const r = await content.POST("/tenants/{tenant_id}/sites/{site_id}/items", { params: { path: itemPath() }, body });
  assert.equal(r.response.status, 201, `create ${body.slug}: ${JSON.stringify(r.error)}`);
  return r.data!;
}

test("an item's draft goes live when published, and delivery answers 304 for a current ETag", async () => {
  const item = await createItem({ type: "post", slug: "hello", title: "Hello", body: "# Hello\n\nFirst.", tags: ["intro"], data: { hero: "a.png" } });
  assert.match(item.id, uuidV7);
  assert.equal(item.status, "draft");
  assert.equal(item.revision, 1);
  assert.equal(item.locale, "en", "the site's default locale");
  assert.equal(item.has_unpublished_changes, true);
  assert.equal(item.body, "# Hello\n\nFirst.");
  assert.deepEqual(item.data, { hero: "a.png" });

  const path = { ...itemPath(), item_id: item.id };
  const published = await content.POST("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}/publish", { params: { path } });
  assert.equal(published.response.status, 200, JSON.stringify(published.error));
  assert.equal(published.data!.status, "published");
  assert.equal(published.data!.live_revision, 1);

  const edited = await content.PUT("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}", {
    params: { path, header: { "If-Match": published.response.headers.get("ETag")! } },
    body: { title: "Hello, world" },
  });
  assert.equal(edited.response.status, 200, JSON.stringify(edited.error));
  assert.equal(edited.data!.revision, 2);
  assert.equal(edited.data!.has_unpublished_changes, true);

  const live = await content.GET("/sites/{site_id}/published/{type}/{slug}", {
    params: { path: { site_id: siteId, type: "post", slug: "hello" } },
  });
  assert.equal(live.response.status, 200, JSON.stringify(live.error));
  assert.equal(live.data!.title, "Hello", "editing the draft changed the live version");
  const etag = live.response.headers.get("ETag");
  assert.ok(etag, "no ETag");

  const again = await content.GET("/sites/{site_id}/published/{type}/{slug}", {
    params: { path: { site_id: siteId, type: "post", slug: "hello" }, header: { "If-None-Match": etag } },
  });
  assert.equal(again.response.status, 304);

  const revisions = await content.GET("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}/revisions", { params: { path } });
  assert.equal(revisions.response.status, 200, JSON.stringify(revisions.error));
  assert.deepEqual(revisions.data!.items.map((r) => [r.number, r.action, r.changed]), [
    [2, "update", ["title"]],
    [1, "create", ["slug", "title", "summary", "body", "data", "tags"]],
  ]);
  const restored = await content.POST("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}/revisions/{revision}/restore", {
    params: { path: { ...path, revision: 1 } },
  });
  assert.equal(restored.response.status, 200, JSON.stringify(restored.error));
  assert.equal(restored.data!.title, "Hello");
  assert.equal(restored.data!.revision, 3);
});

test("search ranks a title match first and marks matches in snippets", async () => {
  await createItem({ type: "note", slug: "body-match", title: "Notes", body: "We deploy with zeppelins & balloons." });
  await createItem({ type: "note", slug: "title-match", title: "Zeppelins explained", body: "Airships." });
  const r = await content.GET("/tenants/{tenant_id}/sites/{site_id}/items", {
    params: { path: itemPath(), query: { q: "zeppelins", type: "note" } },
  });
  assert.equal(r.response.status, 200, JSON.stringify(r.error));
  assert.deepEqual(r.data!.items.map((i) => i.slug), ["title-match", "body-match"]);
  assert.ok((r.data!.items[0]!.rank ?? 0) > (r.data!.items[1]!.rank ?? 0));
  assert.match(r.data!.items[1]!.snippet ?? "", /<mark>zeppelins<\/mark> &amp; balloons/);
});

test("the trash holds a deleted item until it is restored; unknown filters are 400", async () => {
  const item = await createItem({ type: "page", slug: "contact", title: "Contact" });
  const path = { ...itemPath(), item_id: item.id };
  const del = await content.DELETE("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}", { params: { path } });
  assert.equal(del.response.status, 204);
  const read = await content.GET("/tenants/{tenant_id}/sites/{site_id}/items/{item_id}", { params: { path } });
  assert.equal(read.response.status, 404);
  const trash = await content.GET("/tenants/{tenant_id}/sites/{site_id}/trash", { params: { path: itemPath() } });
  assert.equal(trash.response.status, 200, JSON.stringify(trash.error));
  assert.ok(trash.data!.items.some((i) => i.id === item.id && i.deleted_at && i.purge_at));
  const restored = await content.POST("/tenants/{tenant_id}/sites/{site_id}/trash/{item_id}/restore", { params: { path } });
  assert.equal(restored.response.status, 200, JSON.stringify(restored.error));
  assert.equal(restored.data!.deleted_at, undefined);

  const bad = await fetch(`${baseUrl}${contentBasePath}/tenants/${tenantId}/sites/${siteId}/items?colour=red`, {
    headers: { Authorization: `Bearer ${await adminToken()}` },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get("Content-Type"), "application/problem+json");
  const problem = (await bad.json()) as Problem;
  assert.deepEqual(problem.errors?.map((e) => e.field), ["query.colour"]);
});
