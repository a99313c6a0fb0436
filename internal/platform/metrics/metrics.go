// Package metrics is the process's one Prometheus registry and its /metrics
// handler. Every metric is defined once, next to the code that changes it,
// with Factory, and so lands on Registry:
//
//	var keysRevoked = metrics.Factory.NewCounter(prometheus.CounterOpts{
//		Name: "saas_keys_revoked_total", Help: "Signing keys revoked."})
//
// Registry is not Prometheus's global default registry, so that a library
// cannot add series behind our back; it holds the Go runtime and process
// collectors that dashboards expect.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every metric of the process.
var Registry = newRegistry()

// Factory creates metrics registered on Registry; a second definition of a
// name panics at start.
var Factory = promauto.With(Registry)

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves Registry in the Prometheus text format (or OpenMetrics when
// the scraper asks for it).
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{
		Registry:          Registry, // counts its own failures in promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}
