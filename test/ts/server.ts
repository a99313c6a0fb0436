// Shared by the *.test.ts files (make test-ts compiles it but hands only *.test.js to node --test):
// the server under test and what every client sends to it.
//
// SAAS_TEST_URL is the server's base URL, e.g. http://127.0.0.1:8000 (scripts/with-server.sh sets
// it); each client adds its service's path from the spec. SAAS_TEST_TOKEN, when set, is sent as a
// bearer token.
import { randomUUID } from "node:crypto";

import type { ServiceClientOptions } from "../../gen/ts/src/index.js";

const url = process.env.SAAS_TEST_URL;
if (!url) {
  throw new Error("SAAS_TEST_URL is not set: the suite needs a running saas server");
}

/** The base URL of the server under test, without a service path. */
export const baseUrl: string = url;

const token = process.env.SAAS_TEST_TOKEN;

/** Headers every request carries: the bearer token, when one is given. */
export const authHeaders: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

/** Options for the generated clients' factories. */
export const clientOptions: ServiceClientOptions = { headers: authHeaders };

/** A UUIDv7, as every id the platform makes. */
export const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A short random suffix that keeps names, domains and emails of one run apart from others. */
export function uniqueSuffix(): string {
  return randomUUID().slice(0, 8);
}
