// Package ttlcache keeps positive answers of another service for a short
// while: services ask Config Vault on nearly every request whether a tenant
// or site exists and whom a site belongs to, and those answers change far
// less often than they are asked for. Failures (not found, unavailable) are
// never kept, so a new tenant is usable at once and an outage ends as soon as
// the other service answers again.
package ttlcache

import (
	"context"
	"sync"
	"time"
)

// Cache maps keys to values fetched by the caller, each kept for the TTL.
// It is bounded: when full it starts over rather than tracking use, which
// costs one fetch per key after a flood of distinct keys and never grows.
// Safe for concurrent use; concurrent misses on one key may each fetch.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[K]entry[V]
}

type entry[V any] struct {
	value V
	until time.Time
}

// DefaultMax bounds a cache made by New.
const DefaultMax = 10_000

// New returns a cache keeping answers for ttl.
func New[K comparable, V any](ttl time.Duration) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: DefaultMax, now: time.Now, entries: map[K]entry[V]{}}
}

// Get returns key's cached value, or fetches it and keeps it when fetch
// succeeds.
func (c *Cache[K, V]) Get(ctx context.Context, key K, fetch func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.until) {
		return e.value, nil
	}
	v, err := fetch(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = entry[V]{value: v, until: c.now().Add(c.ttl)}
	c.mu.Unlock()
	return v, nil
}
