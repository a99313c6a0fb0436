package configvault

import (
	"time"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

// SetKeyGenerator replaces the service's key generator, for tests that count
// or hold generations.
func SetKeyGenerator(s *Service, generate func(keycrypto.Spec) (*keycrypto.Material, error)) {
	s.generate = generate
}

// HoldRSASlots takes every RSA generation slot, as that many running RSA
// generations would, and waits at most wait for one; release gives them back.
func HoldRSASlots(s *Service, wait time.Duration) (release func()) {
	for range cap(s.rsaSlots) {
		s.rsaSlots <- struct{}{}
	}
	s.rsaSlotWait = wait
	return func() {
		for range cap(s.rsaSlots) {
			<-s.rsaSlots
		}
		s.rsaSlotWait = maxRSASlotWait
	}
}
