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

// CachedSigners is how many opened signers the service keeps.
func CachedSigners(s *Service) int { return s.signers.len() }

// OpenedSigners is how many times the service opened a sealed key to sign.
func OpenedSigners(s *Service) int64 { return s.signers.opened.Load() }

// SetFirstKeyWait changes how long a sign waits for another request creating
// the tenant's key.
func SetFirstKeyWait(s *Service, d time.Duration) { s.firstKeyWait = d }

// CachedActiveKeys is how many owners have their signing key choice cached.
func CachedActiveKeys(s *Service) int { return s.activeKeys.len() }

// PassActiveKeyTTL makes the cached key choices stale, as activeKeyTTL
// passing would: what a replica sees of a change made by another one.
func PassActiveKeyTTL(s *Service) {
	s.activeKeys.mu.Lock()
	clear(s.activeKeys.entries)
	s.activeKeys.mu.Unlock()
}
