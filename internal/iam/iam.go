// Package iam is the IAM service (openapi/iam.yaml): it signs users and
// machine clients in and keeps their sessions, and each tenant's issuer
// publishes what standard libraries need to verify its tokens.
//
//   - service.go: sign-in (password checked by UAM, throttled per account and
//     address by throttle.go), refresh and logout over the rotating refresh
//     tokens of refresh.go;
//   - tokens.go: access tokens (RFC 9068), signed by Config Vault with the
//     tenant's key: IAM never holds a private key;
//   - clients.go: the machine clients registry;
//   - oauth.go: the OAuth 2.0 token, revocation and introspection endpoints;
//   - discovery.go: OpenID discovery, the tenants' key sets and userinfo;
//   - upstream.go: UAM and Config Vault as IAM uses them;
//   - api.go, handlers.go: the HTTP adapter over the generated server.
package iam

import (
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// Migrations are the service's schema changes, applied at start.
var Migrations = pg.Migrations{Schema: "iam", FS: schema.IAM}
