// Shared by the *.test.ts files (make test-ts compiles it but hands only *.test.js to node --test):
// the server under test, how a test signs in to it, and small helpers.
//
// SAAS_TEST_URL is the server's base URL, e.g. http://127.0.0.1:8000; each client adds its
// service's path from the spec. SAAS_TEST_ADMIN_EMAIL and SAAS_TEST_ADMIN_PASSWORD are the platform
// administrator's credentials (scripts/with-server.sh sets all three; against a server of your own,
// use the SAAS_BOOTSTRAP_ADMIN_* values it started with). Every operation but health, docs, specs,
// discovery and sign-in needs a bearer token: a client signs in as the administrator with
// `client.use(asAdmin)`.
import { randomUUID } from "node:crypto";

import type { Middleware } from "openapi-fetch";

import { createIamClient, type Iam } from "../../gen/ts/src/index.js";

function required(name: string, what: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: the suite needs ${what} (scripts/with-server.sh sets it)`);
  }
  return v;
}

/** The base URL of the server under test, without a service path. */
export const baseUrl: string = required("SAAS_TEST_URL", "a running saas server");

/** The platform administrator's credentials; their login has no tenant_id (the platform tenant). */
export const admin = {
  email: required("SAAS_TEST_ADMIN_EMAIL", "the platform administrator's email"),
  password: required("SAAS_TEST_ADMIN_PASSWORD", "the platform administrator's password"),
} as const;

export type TokenResponse = Iam.components["schemas"]["TokenResponse"];

/** An IAM client without a token: sign-in, refresh, logout and discovery need none. */
export const iam = createIamClient(baseUrl);

/** Signs in with email and password (in the platform tenant unless tenantId is given); anything but 200 throws. */
export async function signIn(email: string, password: string, tenantId?: string): Promise<TokenResponse> {
  const { data, error, response } = await iam.POST("/auth/login", {
    body: tenantId ? { tenant_id: tenantId, email, password } : { email, password },
  });
  if (response.status !== 200 || !data) {
    throw new Error(`sign-in of ${email} failed: ${response.status} ${JSON.stringify(error)}`);
  }
  return data;
}

/**
 * A middleware that sends `Authorization: Bearer <token>` with every request of the client it is
 * given to (`client.use(...)`), unless the request carries an Authorization header already, so a
 * call can still present another token.
 */
export function bearer(token: () => string | Promise<string>): Middleware {
  return {
    async onRequest({ request }) {
      if (!request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${await token()}`);
      }
      return request;
    },
  };
}

// The administrator signs in once per test file (node --test runs each in its own process), and
// again when the access token is within 30 s of expiring. A failed sign-in is not kept: the
// request that asked fails with it, and the next one tries again.
type Session = { token: string; renewAt: number };
let adminSession: Promise<Session> | undefined;

function newAdminSession(): Promise<Session> {
  const started = Date.now();
  const session = signIn(admin.email, admin.password).then((t) => ({
    token: t.access_token,
    renewAt: started + Math.max(0, t.expires_in - 30) * 1000,
  }));
  session.catch(() => {
    if (adminSession === session) adminSession = undefined;
  });
  return session;
}

/** The platform administrator's access token. */
export async function adminToken(): Promise<string> {
  for (;;) {
    const session = (adminSession ??= newAdminSession());
    const { token, renewAt } = await session;
    if (Date.now() < renewAt) return token;
    if (adminSession === session) adminSession = undefined;
  }
}

/** Signs a client's requests in as the platform administrator: `client.use(asAdmin)`. */
export const asAdmin: Middleware = bearer(adminToken);

/** The header and claims of a JWT, decoded without verifying anything. */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    throw new Error(`not a compact JWS: ${parts.length} parts`);
  }
  const part = (s: string) => JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Record<string, unknown>;
  return { header: part(parts[0]!), claims: part(parts[1]!) };
}

/** A UUIDv7, as every id the platform makes. */
export const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A short random suffix that keeps names, domains and emails of one run apart from others. */
export function uniqueSuffix(): string {
  return randomUUID().slice(0, 8);
}
