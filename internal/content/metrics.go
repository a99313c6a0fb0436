package content

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saasplatform/saas/internal/platform/metrics"
)

// Label values of saas_content_published_total.
const (
	publishedOnRequest  = "request"
	publishedOnSchedule = "schedule"
)

var published = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
	Name: "saas_content_published_total",
	Help: "Revisions made live, by trigger: request (POST .../publish) or schedule (the worker, at publish_at).",
}, []string{"trigger"})

func init() {
	// Every series exists from the start, so that rate() sees the first event.
	for _, t := range []string{publishedOnRequest, publishedOnSchedule} {
		published.WithLabelValues(t)
	}
}
