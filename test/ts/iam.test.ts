// The generated iam client against a running server (make test-ts): signing in, refresh rotation,
// signing out, per-tenant discovery whose keys verify the access tokens, and the bearer challenge
// every protected operation answers without a token. The platform administrator's credentials come
// from scripts/with-server.sh (see server.ts).
import assert from "node:assert/strict";
import { constants, createPublicKey, randomBytes, verify, type JsonWebKey } from "node:crypto";
import { test } from "node:test";

import { createConfigVaultClient, createIamClient, createUamClient, iamBasePath, type Iam } from "../../gen/ts/src/index.js";
import { admin, asAdmin, baseUrl, decodeJwt, iam, signIn, uniqueSuffix, type TokenResponse } from "./server.js";

type Problem = Iam.components["schemas"]["Problem"];

const vault = createConfigVaultClient(baseUrl);
vault.use(asAdmin);
const uam = createUamClient(baseUrl);
uam.use(asAdmin);

const canonicalUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertProblem(response: Response, error: unknown, status: number): Problem {
  assert.equal(response.status, status, JSON.stringify(error));
  assert.equal(response.headers.get("Content-Type"), "application/problem+json");
  const p = error as Problem;
  assert.equal(p.status, status, "the problem's status differs from the answer's");
  assert.ok(p.type && p.title, `not a problem document: ${JSON.stringify(error)}`);
  return p;
}

/** Checks a token answer of login or refresh and returns its access token's header and claims. */
function checkTokenResponse(response: Response, data: TokenResponse | undefined) {
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("Cache-Control"), "no-store", "a credential may be cached");
  assert.ok(data, "no body");
  assert.equal(data.token_type, "Bearer");
  assert.ok(Number.isInteger(data.expires_in) && data.expires_in > 0, `expires_in ${data.expires_in}`);
  assert.ok(data.refresh_token.length >= 43, "a refresh token shorter than 256 bits can encode");
  assert.notEqual(data.refresh_token, data.access_token);

  const { header, claims } = decodeJwt(data.access_token);
  assert.ok(["RS256", "PS256", "ES256", "EdDSA"].includes(header.alg as string), `alg ${String(header.alg)}`);
  assert.equal(String(header.typ).toLowerCase(), "at+jwt");
  assert.ok(typeof header.kid === "string" && header.kid.length > 0, "no kid");
  for (const bad of ["jku", "x5u", "jwk", "crit"]) {
    assert.ok(!(bad in header), `the header carries ${bad}`);
  }
  assert.match(String(claims.tenant_id), canonicalUuid);
  assert.ok(String(claims.iss).endsWith(`${iamBasePath}/tenants/${String(claims.tenant_id)}`), `iss ${String(claims.iss)}`);
  assert.equal(claims.sub_type, "user");
  assert.ok(claims.aud, "no aud");
  assert.ok(typeof claims.jti === "string" && claims.jti.length > 0, "no jti");
  const exp = claims.exp as number;
  const iat = claims.iat as number;
  assert.ok(Math.abs(exp - iat - data.expires_in) <= 1, `exp - iat = ${exp - iat}, expires_in ${data.expires_in}`);
  assert.ok(exp * 1000 > Date.now(), "the token has expired already");
  return { header, claims };
}

function refresh(refreshToken: string) {
  return iam.POST("/auth/refresh", { body: { refresh_token: refreshToken } });
}

/** Verifies a compact JWS with a public JWK, as a relying party would (node:crypto only). */
function verifyJws(jwt: string, jwk: JsonWebKey): boolean {
  const [h, p, s] = jwt.split(".");
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s ?? "", "base64url");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const alg = decodeJwt(jwt).header.alg;
  switch (alg) {
    case "RS256":
      return verify("sha256", data, key, signature);
    case "PS256":
      return verify("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    case "ES256":
      return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
    case "EdDSA":
      return verify(null, data, key, signature);
    default:
      throw new Error(`unexpected alg ${String(alg)}`);
  }
}

/** The tenant's discovery document and key set, checked against an access token of that tenant. */
async function checkDiscovery(accessToken: string) {
  const { header, claims } = decodeJwt(accessToken);
  const tenantId = String(claims.tenant_id);

  const meta = await iam.GET("/tenants/{tenant_id}/.well-known/openid-configuration", { params: { path: { tenant_id: tenantId } } });
  assert.equal(meta.response.status, 200, JSON.stringify(meta.error));
  assert.ok(meta.response.headers.get("Cache-Control"), "no Cache-Control on the metadata");
  const doc = meta.data!;
  assert.equal(doc.issuer, claims.iss, "the token's iss is not the tenant's issuer");
  const issuer = new URL(doc.issuer);
  assert.equal(issuer.pathname, `${iamBasePath}/tenants/${tenantId}`);
  const jwksUri = new URL(doc.jwks_uri);
  assert.equal(jwksUri.origin, issuer.origin, "jwks_uri is on another origin than the issuer");
  assert.equal(jwksUri.pathname, `${iamBasePath}/tenants/${tenantId}/jwks.json`);
  assert.ok(doc.token_endpoint.endsWith(`${iamBasePath}/oauth2/token`), `token_endpoint ${doc.token_endpoint}`);
  for (const member of ["response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"] as const) {
    assert.ok(Array.isArray(doc[member]), `${member} is not an array`);
  }

  // Fetched by its path on the server under test: SAAS_PUBLIC_URL may name another host for it.
  const res = await fetch(`${baseUrl}${jwksUri.pathname}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Cache-Control") ?? "", /max-age=\d+/);
  const jwks = (await res.json()) as { keys: (JsonWebKey & { kid?: string; alg?: string })[] };
  const key = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(key, `no key with the token's kid ${String(header.kid)} among ${jwks.keys.map((k) => k.kid).join(", ")}`);
  if (key.alg !== undefined) {
    assert.equal(key.alg, header.alg, "the key's alg differs from the token's");
  }
  for (const k of jwks.keys) {
    for (const secret of ["d", "p", "q", "dp", "dq", "qi", "k"] as const) {
      assert.ok(!(secret in k), `key ${k.kid} publishes its private member ${secret}`);
    }
  }
  assert.ok(verifyJws(accessToken, key), "the access token does not verify with the published key");
  const [h, p, s] = accessToken.split(".");
  const tampered = Buffer.from(JSON.stringify({ ...claims, scope: "tenants:write" })).toString("base64url");
  assert.notEqual(tampered, p);
  assert.equal(verifyJws(`${h}.${tampered}.${s}`, key), false, "a tampered token verifies: the check proves nothing");
  return jwks.keys.map((k) => k.kid);
}

test("the platform administrator signs in: a Bearer at+jwt of the platform tenant and a refresh token", async () => {
  const { data, error, response } = await iam.POST("/auth/login", { body: { email: admin.email, password: admin.password } });
  assert.equal(response.status, 200, JSON.stringify(error));
  const { claims } = checkTokenResponse(response, data);
  const roles = claims.roles as string[];
  assert.ok(roles.includes("tenant-admin") && roles.includes("platform-admin"), `roles ${JSON.stringify(roles)}`);
  assert.ok(String(claims.scope).split(" ").includes("tenants:write"), `scope ${String(claims.scope)}`);
  assert.ok(!JSON.stringify(data).includes(admin.password), "the password was returned");

  // The token works: userinfo names the administrator.
  const me = await iam.GET("/userinfo", { headers: { Authorization: `Bearer ${data!.access_token}` } });
  assert.equal(me.response.status, 200, JSON.stringify(me.error));
  assert.equal(me.data!.sub, claims.sub);
  assert.equal(me.data!.tenant_id, claims.tenant_id);
  assert.equal(me.data!.email?.toLowerCase(), admin.email.toLowerCase());
});

test("a wrong password is a 401 problem, the same as an unknown email's", async () => {
  const wrong = await iam.POST("/auth/login", { body: { email: admin.email, password: `${admin.password}x` } });
  const p = assertProblem(wrong.response, wrong.error, 401);
  assert.equal(wrong.data, undefined);
  assert.ok(!JSON.stringify(p).includes(admin.password), "the problem quotes the password");

  const unknown = await iam.POST("/auth/login", { body: { email: `nobody.${uniqueSuffix()}@platform.localhost`, password: admin.password } });
  const q = assertProblem(unknown.response, unknown.error, 401);
  assert.deepEqual({ type: q.type, title: q.title, detail: q.detail }, { type: p.type, title: p.title, detail: p.detail },
    "an unknown email and a wrong password are told apart");

  // The administrator can still sign in (one failure delays nothing).
  await signIn(admin.email, admin.password);
});

test("refresh rotates: new tokens, the old refresh token is spent, and presenting it again revokes the family", async () => {
  const first = await signIn(admin.email, admin.password);

  const second = await refresh(first.refresh_token);
  assert.equal(second.response.status, 200, JSON.stringify(second.error));
  const { claims } = checkTokenResponse(second.response, second.data);
  assert.equal(claims.sub, decodeJwt(first.access_token).claims.sub, "the refreshed token names someone else");
  assert.notEqual(second.data!.refresh_token, first.refresh_token, "the refresh token was not rotated");
  assert.notEqual(second.data!.access_token, first.access_token);

  const reused = await refresh(first.refresh_token);
  assertProblem(reused.response, reused.error, 401);
  assert.equal(reused.data, undefined, "a spent refresh token was accepted");

  // The reuse revoked the whole family: the token the rotation handed out is dead too.
  const descendant = await refresh(second.data!.refresh_token);
  assertProblem(descendant.response, descendant.error, 401);

  const forged = await refresh(randomBytes(32).toString("base64url"));
  assertProblem(forged.response, forged.error, 401);
});

test("logout revokes the session's refresh token; it answers 204 for an unknown token too", async () => {
  const session = await signIn(admin.email, admin.password);
  const out = await iam.POST("/auth/logout", { body: { refresh_token: session.refresh_token } });
  assert.equal(out.response.status, 204, JSON.stringify(out.error));

  const after = await refresh(session.refresh_token);
  assertProblem(after.response, after.error, 401);

  const unknown = await iam.POST("/auth/logout", { body: { refresh_token: randomBytes(32).toString("base64url") } });
  assert.equal(unknown.response.status, 204, "logout tells known tokens from unknown ones");

  // Another session of the same user is untouched.
  const other = await signIn(admin.email, admin.password);
  const rotated = await refresh(other.refresh_token);
  assert.equal(rotated.response.status, 200, JSON.stringify(rotated.error));
});

test("each tenant's discovery document names its issuer and JWKS, whose key verifies that tenant's access tokens", async () => {
  const platform = await signIn(admin.email, admin.password);
  const platformKids = await checkDiscovery(platform.access_token);

  // A new tenant with one user: its own issuer, and a key made on first need.
  const s = uniqueSuffix();
  const tenant = await vault.POST("/tenants", { body: { name: `IAM TS ${s}`, domain: `iam-ts-${s}.example.com` } });
  assert.equal(tenant.response.status, 201, JSON.stringify(tenant.error));
  const tenantId = tenant.data!.id;
  const email = `member.${s}@example.com`;
  const password = `correct horse ${s} staple`;
  const user = await uam.POST("/tenants/{tenant_id}/users", { params: { path: { tenant_id: tenantId } }, body: { email, password } });
  assert.equal(user.response.status, 201, JSON.stringify(user.error));

  const member = await iam.POST("/auth/login", { body: { tenant_id: tenantId, email, password } });
  assert.equal(member.response.status, 200, JSON.stringify(member.error));
  const { header, claims } = checkTokenResponse(member.response, member.data);
  assert.equal(claims.tenant_id, tenantId);
  assert.equal(claims.sub, user.data!.id);
  assert.notEqual(claims.iss, decodeJwt(platform.access_token).claims.iss, "two tenants share an issuer");
  await checkDiscovery(member.data!.access_token);
  assert.ok(!platformKids.includes(header.kid as string), "the tenant's token is signed with a key the platform tenant publishes");

  // The same credentials without tenant_id are the platform tenant's: no such user there.
  const wrongTenant = await iam.POST("/auth/login", { body: { email, password } });
  assertProblem(wrongTenant.response, wrongTenant.error, 401);

  const unknown = await iam.GET("/tenants/{tenant_id}/.well-known/openid-configuration", {
    params: { path: { tenant_id: "01890000-0000-7000-8000-000000000000" } },
  });
  assertProblem(unknown.response, unknown.error, 404);
});

test("a protected operation without a token is 401 with a Bearer challenge, in every service", async () => {
  const anonymous = {
    vault: createConfigVaultClient(baseUrl),
    uam: createUamClient(baseUrl),
    iam: createIamClient(baseUrl),
  };
  const platformTenant = String(decodeJwt((await signIn(admin.email, admin.password)).access_token).claims.tenant_id);
  const calls: [string, () => Promise<{ response: Response; error?: unknown }>][] = [
    ["GET /config-vault/v1/tenants", () => anonymous.vault.GET("/tenants")],
    ["GET /uam/v1/permissions", () => anonymous.uam.GET("/permissions")],
    ["GET /uam/v1/tenants/{platform}/users", () => anonymous.uam.GET("/tenants/{tenant_id}/users", { params: { path: { tenant_id: platformTenant } } })],
    ["GET /iam/v1/userinfo", () => anonymous.iam.GET("/userinfo")],
    ["GET /iam/v1/tenants/{platform}/clients", () => anonymous.iam.GET("/tenants/{tenant_id}/clients", { params: { path: { tenant_id: platformTenant } } })],
  ];
  for (const [name, call] of calls) {
    const r = await call();
    assertProblem(r.response, r.error, 401);
    assert.match(r.response.headers.get("WWW-Authenticate") ?? "", /^Bearer\b/, `${name}: no Bearer challenge`);
  }

  // A token that is not a JWT is refused the same way, naming the token as the problem (RFC 6750).
  const garbage = await anonymous.vault.GET("/tenants", { headers: { Authorization: "Bearer not-a-token" } });
  assertProblem(garbage.response, garbage.error, 401);
  assert.match(garbage.response.headers.get("WWW-Authenticate") ?? "", /^Bearer\b.*error="invalid_token"/);

  // The same operation with the administrator's token is allowed: the 401s above are the token's absence.
  const allowed = await vault.GET("/tenants");
  assert.equal(allowed.response.status, 200, JSON.stringify(allowed.error));
});
