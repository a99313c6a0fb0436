package authz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/authn"
)

// The path parameters the middleware reads.
const (
	TenantParam = "tenant_id"
	SiteParam   = "site_id"
)

// Operation is the access rule of one operation of a spec, as the middleware
// enforces it.
type Operation struct {
	Method      string // GET, POST, ...
	Path        string // the spec's path template, "/tenants/{tenant_id}"
	OperationID string
	// Open operations need no token (security: [], or an empty requirement
	// object among the alternatives). Alternatives is then nil.
	Open bool
	// Alternatives are the permission sets of which the caller must hold
	// one in full (OpenAPI: any one requirement object satisfied suffices,
	// all scopes within it are needed). An empty set: any valid token.
	Alternatives [][]string
	// TenantScoped: the path has a tenant_id parameter, which the
	// middleware matches against the caller's tenant.
	TenantScoped bool
	// SiteScoped: the path has a site_id parameter, so permissions granted
	// on that site count beside tenant-wide ones.
	SiteScoped bool
}

// policy is Operation precomputed for the hot path.
type policy struct {
	open         bool
	anyToken     bool       // some alternative has no scopes
	alts         [][]string // the alternatives that name scopes
	tenantScoped bool
	siteScoped   bool
}

// satisfied reports whether p holds every permission of some alternative,
// counting permissions granted on site (nil: tenant-wide ones only).
func (pol *policy) satisfied(p *authn.Principal, site *uuid.UUID) bool {
	if pol.anyToken {
		return true
	}
	return pol.scopesSatisfied(p, site)
}

// scopesSatisfied is satisfied without the any-token alternative: only an
// alternative that names permissions counts.
func (pol *policy) scopesSatisfied(p *authn.Principal, site *uuid.UUID) bool {
next:
	for _, alt := range pol.alts {
		for _, s := range alt {
			if !p.Has(s, site) {
				continue next
			}
		}
		return true
	}
	return false
}

// missing names the permission the 403 challenge asks for: the first one of
// the first alternative that p lacks. RFC 6750's scope attribute could list
// several, but authn.InsufficientScope takes one.
func (pol *policy) missing(p *authn.Principal, site *uuid.UUID) string {
	for _, s := range pol.alts[0] {
		if !p.Has(s, site) {
			return s
		}
	}
	return pol.alts[0][0]
}

// Operations resolves the access rule of every operation of doc, in path
// and method order. It fails, naming every offending operation, when an
// operation has no requirement (neither its own security nor the
// document's: an operation is open only when its spec says so), names a
// security scheme the document does not declare or one this middleware
// cannot enforce (only OAuth 2.0, OpenID Connect and HTTP bearer schemes
// carry the platform's access tokens), names a scope its OAuth 2.0 scheme
// does not declare or that is no RFC 6749 scope token, or has a tenant_id
// path parameter that is not a string of format uuid.
func Operations(doc *openapi3.T) ([]Operation, error) {
	ops, _, err := compile(doc)
	return ops, err
}

func compile(doc *openapi3.T) ([]Operation, map[*openapi3.Operation]*policy, error) {
	if doc == nil || doc.Paths == nil {
		return nil, nil, errors.New("authz: no document, or one without paths")
	}
	var (
		ops      []Operation
		policies = map[*openapi3.Operation]*policy{}
		errs     []error
	)
	paths := doc.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path]
		if item == nil {
			continue
		}
		byMethod := item.Operations()
		for _, method := range slices.Sorted(maps.Keys(byMethod)) {
			op := byMethod[method]
			o, pol, err := compileOperation(doc, path, method, item, op)
			if err != nil {
				errs = append(errs, fmt.Errorf("authz: %s %s: %w", method, path, err))
				continue
			}
			ops = append(ops, o)
			policies[op] = pol
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return ops, policies, nil
}

func compileOperation(doc *openapi3.T, path, method string, item *openapi3.PathItem, op *openapi3.Operation) (Operation, *policy, error) {
	o := Operation{Method: method, Path: path, OperationID: op.OperationID}
	pol := &policy{}

	var reqs openapi3.SecurityRequirements
	switch {
	case op.Security != nil:
		reqs = *op.Security
	case len(doc.Security) > 0:
		reqs = doc.Security
	default:
		return o, nil, errors.New("no security requirement, neither its own nor the document's (`security: []` makes an operation open)")
	}
	if len(reqs) == 0 {
		pol.open = true
	}
	var alts [][]string
	for _, req := range reqs {
		if len(req) == 0 {
			pol.open = true
			continue
		}
		alt, err := resolveRequirement(doc, req)
		if err != nil {
			return o, nil, err
		}
		alts = append(alts, alt)
	}

	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range params {
			p := ref.Value
			if p == nil || p.In != openapi3.ParameterInPath {
				continue
			}
			switch p.Name {
			case TenantParam:
				// The match against the caller's tenant compares UUIDs and
				// leaves any other value to validation's 400; that is sound
				// only when validation refuses every non-UUID.
				if p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is(openapi3.TypeString) || p.Schema.Value.Format != "uuid" {
					return o, nil, errors.New("the tenant_id path parameter must be a string of format uuid")
				}
				pol.tenantScoped = true
			case SiteParam:
				pol.siteScoped = true
			}
		}
	}
	o.TenantScoped, o.SiteScoped = pol.tenantScoped, pol.siteScoped

	if pol.open {
		o.Open = true
		return o, pol, nil
	}
	for _, alt := range alts {
		if len(alt) == 0 {
			pol.anyToken = true
		} else {
			pol.alts = append(pol.alts, alt)
		}
	}
	o.Alternatives = alts
	return o, pol, nil
}

// resolveRequirement is the union of the scopes one requirement object
// names (one token carries them all), checked against the declared schemes.
func resolveRequirement(doc *openapi3.T, req openapi3.SecurityRequirement) ([]string, error) {
	scopes := []string{}
	for _, name := range slices.Sorted(maps.Keys(req)) {
		var scheme *openapi3.SecurityScheme
		if doc.Components != nil {
			if ref := doc.Components.SecuritySchemes[name]; ref != nil {
				scheme = ref.Value
			}
		}
		if scheme == nil {
			return nil, fmt.Errorf("security scheme %q is not declared in components.securitySchemes", name)
		}
		var declared map[string]bool
		switch {
		case scheme.Type == "oauth2":
			declared = oauthScopes(scheme)
		case scheme.Type == "openIdConnect":
		case scheme.Type == "http" && strings.EqualFold(scheme.Scheme, "bearer"):
		default:
			return nil, fmt.Errorf("security scheme %q (type %s) does not carry access tokens; only oauth2, openIdConnect and http bearer schemes can be enforced", name, scheme.Type)
		}
		for _, s := range req[name] {
			if !validScope(s) {
				return nil, fmt.Errorf("scope %q is not an RFC 6749 scope token", s)
			}
			if declared != nil && !declared[s] {
				return nil, fmt.Errorf("scope %q is not declared by the flows of security scheme %q", s, name)
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return scopes, nil
}

func oauthScopes(s *openapi3.SecurityScheme) map[string]bool {
	declared := map[string]bool{}
	if s.Flows == nil {
		return declared
	}
	for _, f := range []*openapi3.OAuthFlow{s.Flows.Implicit, s.Flows.Password, s.Flows.ClientCredentials, s.Flows.AuthorizationCode} {
		if f == nil {
			continue
		}
		for name := range f.Scopes {
			declared[name] = true
		}
	}
	return declared
}

// validScope: 1*NQCHAR without space (RFC 6749 §3.3), so that the scope
// can stand in a challenge's quoted string unchanged.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
