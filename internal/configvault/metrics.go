package configvault

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/metrics"
)

var (
	keysCreated = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "saas_keys_created_total",
		Help: "Signing keys created, by algorithm.",
	}, []string{"algorithm"})
	keysRevoked = metrics.Factory.NewCounter(prometheus.CounterOpts{
		Name: "saas_keys_revoked_total",
		Help: "Signing keys revoked (a repeated revocation counts once).",
	})
	tokensSigned = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "saas_tokens_signed_total",
		Help: "Tokens signed for the IAM service, by the signing key's algorithm.",
	}, []string{"algorithm"})
)

func init() {
	// Every algorithm's series exists from the start, so that rate() sees
	// the first key of each.
	for _, alg := range []keycrypto.Algorithm{keycrypto.RS256, keycrypto.PS256, keycrypto.ES256, keycrypto.EdDSA} {
		keysCreated.WithLabelValues(string(alg))
		tokensSigned.WithLabelValues(string(alg))
	}
}
