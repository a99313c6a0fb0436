// Package schema embeds every service's migrations (goose format) so the binary
// can migrate its own database; sqlc reads the same files as the schema.
package schema

import (
	"embed"
	"io/fs"
)

//go:embed configvault/*.sql uam/*.sql iam/*.sql content/*.sql
var files embed.FS

// ConfigVault holds the config-vault migrations at the root of the FS.
var ConfigVault = sub("configvault")

// UAM holds the uam migrations at the root of the FS.
var UAM = sub("uam")

// IAM holds the iam migrations at the root of the FS.
var IAM = sub("iam")

// Content holds the content migrations at the root of the FS.
var Content = sub("content")

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // only on a bad literal above
	}
	return f
}
