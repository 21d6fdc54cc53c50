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
	// keep, when set, says whether a fetched value may be reused for the TTL: a value that
	// records a failed lookup (a skip) is treated like an error.
	keep func(V) bool
}

type entry[V any] struct {
	done    chan struct{}
	value   V
	err     error
	expires time.Time
	// failed marks an error (or a value keep rejects): it is reused only within scan, the scan
	// that made it.
	failed bool
	scan   any
}

// scanKey is the context key of the scan (one EnrichAll) a lookup belongs to.
type scanKey struct{}

// withScan marks ctx as one scan: a lookup that fails is not made again in the same scan (by
// every other pod of it), but is made again by the next scan.
func withScan(ctx context.Context) context.Context {
	return context.WithValue(ctx, scanKey{}, new(int)) // new(int): a pointer of its own
}

func newCache[K comparable, V any](ttl time.Duration, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, now: now, entries: map[K]*entry[V]{}}
}

// get returns the cached value for key, or runs fetch once for all concurrent callers.
// A failed lookup is reused only by the callers that shared it and by the rest of its scan
// (withScan), so that a transient fault does not stick for a whole TTL, and a scan of many
// pods does not repeat a call that failed (or wait out its timeout again).
func (c *cache[K, V]) get(ctx context.Context, key K, fetch func(context.Context) (V, error)) (V, error) {
	scan := ctx.Value(scanKey{})
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok && (e.expires.IsZero() || c.now().Before(e.expires)) && (!e.failed || scan != nil && e.scan == scan) {
		c.mu.Unlock()
		select {
		case <-e.done: // a value at hand is returned even to a caller whose context has ended
			return e.value, e.err
		default:
		}
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
	e.expires = c.now().Add(c.ttl)
	if e.err != nil || c.keep != nil && !c.keep(e.value) {
		e.failed, e.scan = true, scan
		if scan == nil {
			delete(c.entries, key)
		}
	}
	c.mu.Unlock()
	close(e.done)
	return e.value, e.err
}
