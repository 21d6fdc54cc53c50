package cloud

import (
	"context"
	"sync"
	"time"
)

// maxEntries is the size above which a cache sweeps out expired entries.
const maxEntries = 4096

// cache holds one lookup per key for a TTL, and shares an in-flight lookup between concurrent
// callers, so that a scan of many pods makes one call per repository, role or VPC.
type cache[K comparable, V any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	entries map[K]*entry[V]
}

type entry[V any] struct {
	done    chan struct{}
	value   V
	err     error
	expires time.Time
}

func newCache[K comparable, V any](ttl time.Duration, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, now: now, entries: map[K]*entry[V]{}}
}

// get returns the cached value for key, or runs fetch once for all concurrent callers.
// Errors are not cached beyond the callers that shared the failed call, so that a transient
// fault does not stick for a whole TTL.
func (c *cache[K, V]) get(ctx context.Context, key K, fetch func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok && e.expires.IsZero() || ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		select {
		case <-e.done:
			return e.value, e.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	if len(c.entries) > maxEntries { // a long-running bot: drop what has expired
		now := c.now()
		for k, old := range c.entries {
			if !old.expires.IsZero() && !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
	}
	e = &entry[V]{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	e.value, e.err = fetch(ctx)
	c.mu.Lock()
	if e.err != nil {
		delete(c.entries, key)
	} else {
		e.expires = c.now().Add(c.ttl)
	}
	c.mu.Unlock()
	close(e.done)
	return e.value, e.err
}
