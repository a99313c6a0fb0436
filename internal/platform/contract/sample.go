package contract

import (
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// Samples make request values that a spec accepts, for tests that probe
// every operation (the cross-tenant matrix, the schema-driven fuzz): a
// refusal must then come from what the test means to check, not from the
// validator.
type Samples struct {
	// Values are fixture values by member or parameter name (tenant_id,
	// site_id, ...); a uuid-formatted member of another name gets
	// Values["tenant_id"].
	Values map[string]string
	// Fixed are values for members whose patterns or semantics a generic
	// value fails (name, domain, password, ...).
	Fixed map[string]any
}

// DefaultFixed are values for the platform's specs' patterned members.
var DefaultFixed = map[string]any{
	"name":             "probe",
	"domain":           "probe.example.com",
	"avatar_url":       "https://example.com/avatar.png",
	"password":         "a long and unusual probe passphrase",
	"current_password": "a long and unusual probe passphrase",
	"new_password":     "another long and unusual passphrase",
	"email":            "probe@example.com",
	"slug":             "probe",
	"locale":           "en",
	"timezone":         "Europe/Berlin",
}

// Of is a valid value of s for a member or parameter called name: a fixture
// value of that name, a fixed one, the first enum value, else something of
// the right type and format. An object gets its required members, and
// optional ones in name order until minProperties is met.
func (sm Samples) Of(s *openapi3.Schema, name string) any {
	if v, ok := sm.Values[name]; ok {
		return v
	}
	if v, ok := sm.Fixed[name]; ok {
		return v
	}
	s = Flatten(s)
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case s.Type.Is("object"):
		obj := map[string]any{}
		for _, req := range s.Required {
			if prop := s.Properties[req]; prop != nil {
				obj[req] = sm.Of(prop.Value, req)
			}
		}
		for _, member := range slices.Sorted(maps.Keys(s.Properties)) {
			if uint64(len(obj)) >= s.MinProps {
				break
			}
			if _, ok := obj[member]; !ok {
				obj[member] = sm.Of(s.Properties[member].Value, member)
			}
		}
		return obj
	case s.Type.Is("array"):
		return []any{}
	case s.Type.Is("boolean"):
		return false
	case s.Type.Is("integer"), s.Type.Is("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	}
	switch s.Format {
	case "uuid":
		return sm.Values["tenant_id"]
	case "email":
		return "probe@example.com"
	case "uri":
		return "https://example.com/probe"
	case "date-time":
		return "2030-01-01T00:00:00Z"
	}
	return "probe"
}

// Flatten follows a schema that is only an allOf of others to the first,
// which carries the members (MachineClient in ClientWithSecret, ...).
func Flatten(s *openapi3.Schema) *openapi3.Schema {
	for len(s.AllOf) > 0 && len(s.Properties) == 0 && s.AllOf[0].Value != nil {
		s = s.AllOf[0].Value
	}
	return s
}
