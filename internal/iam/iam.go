// Package iam is the IAM service: it signs users and machine clients in and
// keeps their sessions. This part holds its data layer's core: rotating
// refresh tokens (refresh.go) and sign-in throttling (throttle.go). The HTTP
// layer comes with the service's generated API.
package iam

import (
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/schema"
)

// Migrations are the service's schema changes, applied at start.
var Migrations = pg.Migrations{Schema: "iam", FS: schema.IAM}
