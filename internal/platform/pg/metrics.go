package pg

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// StatsCollector exposes a pool's statistics (pgxpool.Stat) as metrics
// labelled pool=<name>, read at each scrape. Register one per pool.
type StatsCollector struct {
	pool *pgxpool.Pool
	descs
}

type descs struct {
	acquired, idle, constructing, total, max            *prometheus.Desc
	acquires, emptyAcquires, canceledAcquires, newConns *prometheus.Desc
	acquireSeconds, emptyAcquireWaitSeconds             *prometheus.Desc
	lifetimeDestroyed, idleDestroyed                    *prometheus.Desc
}

// NewStatsCollector returns the collector of pool, labelled with name.
func NewStatsCollector(name string, pool *pgxpool.Pool) *StatsCollector {
	label := prometheus.Labels{"pool": name}
	d := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc("db_pool_"+metric, help, nil, label)
	}
	return &StatsCollector{pool: pool, descs: descs{
		acquired:                d("acquired_connections", "Connections currently in use."),
		idle:                    d("idle_connections", "Connections currently idle."),
		constructing:            d("constructing_connections", "Connections being established."),
		total:                   d("total_connections", "Connections open or being established."),
		max:                     d("max_connections", "The pool's size limit."),
		acquires:                d("acquires_total", "Successful acquisitions of a connection."),
		emptyAcquires:           d("empty_acquires_total", "Successful acquisitions that had to wait for a connection."),
		canceledAcquires:        d("canceled_acquires_total", "Acquisitions abandoned because their context ended."),
		newConns:                d("new_connections_total", "Connections opened."),
		acquireSeconds:          d("acquire_duration_seconds_total", "Time spent acquiring connections, summed over successful acquisitions."),
		emptyAcquireWaitSeconds: d("empty_acquire_wait_seconds_total", "Time spent waiting for a connection when none was idle."),
		lifetimeDestroyed:       d("max_lifetime_destroyed_total", "Connections closed for reaching their maximum lifetime."),
		idleDestroyed:           d("max_idle_destroyed_total", "Connections closed for being idle too long."),
	}}
}

// Describe implements prometheus.Collector.
func (c *StatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.constructing, c.total, c.max, c.acquires, c.emptyAcquires,
		c.canceledAcquires, c.newConns, c.acquireSeconds, c.emptyAcquireWaitSeconds, c.lifetimeDestroyed, c.idleDestroyed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquired, float64(s.AcquiredConns()))
	gauge(c.idle, float64(s.IdleConns()))
	gauge(c.constructing, float64(s.ConstructingConns()))
	gauge(c.total, float64(s.TotalConns()))
	gauge(c.max, float64(s.MaxConns()))
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(c.canceledAcquires, float64(s.CanceledAcquireCount()))
	counter(c.newConns, float64(s.NewConnsCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.emptyAcquireWaitSeconds, s.EmptyAcquireWaitTime().Seconds())
	counter(c.lifetimeDestroyed, float64(s.MaxLifetimeDestroyCount()))
	counter(c.idleDestroyed, float64(s.MaxIdleDestroyCount()))
}
