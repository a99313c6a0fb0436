package authn

import "slices"

// platformPermissions are the platform-level permissions (UAM's catalogue,
// level 'platform'): they act across tenants, so only principals of the
// platform tenant may hold them. UAM grants them only through the platform
// tenant's roles, and IAM gives them only to the platform tenant's machine
// clients. The service-only permissions are platform-level too.
var platformPermissions = []string{"credentials:verify", "tenants:access", "tenants:write", "tokens:sign"}

// PlatformPermissions lists the platform-level permissions (a copy).
func PlatformPermissions() []string { return slices.Clone(platformPermissions) }

// PlatformLevelTakenAway lists the platform-level permissions of before that
// after lacks (after nil: all of before's): what a change to a role or a
// client takes away that only a holder may take (uam and iam both ask).
func PlatformLevelTakenAway(before, after []string) []string {
	var gone []string
	for _, p := range before {
		if IsPlatformLevel(p) && !slices.Contains(after, p) {
			gone = append(gone, p)
		}
	}
	return gone
}

// IsPlatformLevel reports whether permission is platform-level.
func IsPlatformLevel(permission string) bool { return slices.Contains(platformPermissions, permission) }
