package configvault

import "github.com/saasplatform/saas/internal/configvault/keycrypto"

// SetKeyGenerator replaces the service's key generator, for tests that count
// or hold generations.
func SetKeyGenerator(s *Service, generate func(keycrypto.Spec) (*keycrypto.Material, error)) {
	s.generate = generate
}
