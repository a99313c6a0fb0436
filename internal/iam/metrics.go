package iam

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saasplatform/saas/internal/platform/metrics"
)

// Label values of saas_logins_total and saas_tokens_issued_total.
const (
	loginSucceeded = "succeeded"
	loginFailed    = "failed"
	loginThrottled = "throttled"

	grantPassword     = "password"
	grantRefreshToken = grantRefresh
)

var (
	logins = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "saas_logins_total",
		Help: "Sign-ins with email and password, by result: succeeded, failed (any refusal of the credentials) or throttled (refused unchecked, 429).",
	}, []string{"result"})
	tokensIssued = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "saas_tokens_issued_total",
		Help: "Access tokens issued, by grant: password (sign-in), refresh_token or client_credentials.",
	}, []string{"grant"})
	refreshReuseDetected = metrics.Factory.NewCounter(prometheus.CounterOpts{
		Name: "saas_refresh_reuse_detected_total",
		Help: "Spent refresh tokens presented again; each revoked (or found revoked) its session.",
	})
)

func init() {
	// Every series exists from the start, so that rate() sees the first event.
	for _, r := range []string{loginSucceeded, loginFailed, loginThrottled} {
		logins.WithLabelValues(r)
	}
	for _, g := range []string{grantPassword, grantRefreshToken, grantClientCredentials} {
		tokensIssued.WithLabelValues(g)
	}
}
