package cloud

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(keep func(string) bool) (*cache[string, string], *testClock) {
	clk := &testClock{t: time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)}
	c := newCache[string, string](time.Minute, clk.now)
	c.keep = keep
	return c, clk
}

// Concurrent callers share one fetch; the value is reused until the TTL has passed.
func TestCacheSharesAndExpires(t *testing.T) {
	c, clk := newTestCache(nil)
	ctx := context.Background()
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (string, error) {
		fetches.Add(1)
		<-release
		return "v", nil
	}
	var wg sync.WaitGroup
	for range 20 { // whichever comes first fetches and holds the fetch open
		wg.Go(func() {
			if v, err := c.get(ctx, "k", fetch); v != "v" || err != nil {
				t.Errorf("get() = %q, %v", v, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for concurrent callers, want 1", n)
	}

	clk.advance(time.Minute - time.Nanosecond)
	c.get(ctx, "k", fetch)
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches within the TTL, want 1", n)
	}
	clk.advance(time.Nanosecond)
	c.get(ctx, "k", fetch)
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches after the TTL, want 2", n)
	}
}

// Errors, and values that keep rejects, are not reused by later callers.
func TestCacheDoesNotKeepFailures(t *testing.T) {
	c, _ := newTestCache(func(v string) bool { return v != "partial" })
	ctx := context.Background()
	for _, tc := range []struct {
		value string
		err   error
	}{{"", errors.New("throttled")}, {"partial", nil}} {
		fetches := 0
		fetch := func(context.Context) (string, error) { fetches++; return tc.value, tc.err }
		key := fmt.Sprint(tc)
		c.get(ctx, key, fetch)
		c.get(ctx, key, fetch)
		if fetches != 2 {
			t.Errorf("%q, %v: %d fetches for two calls, want 2", tc.value, tc.err, fetches)
		}
	}
}

// A caller whose context ends while it waits for another caller's fetch gives up with the
// context's error; a value already at hand is returned whatever the context.
func TestCacheContext(t *testing.T) {
	c, _ := newTestCache(nil)
	c.get(context.Background(), "done", func(context.Context) (string, error) { return "v", nil })
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 { // select would pick either ready case at random
		if v, err := c.get(ended, "done", nil); v != "v" || err != nil {
			t.Fatalf("get(cached, ended context) = %q, %v; want v, nil", v, err)
		}
	}

	release := make(chan struct{})
	inFlight := make(chan struct{})
	go c.get(context.Background(), "slow", func(context.Context) (string, error) {
		close(inFlight)
		<-release
		return "late", nil
	})
	<-inFlight
	if v, err := c.get(ended, "slow", nil); v != "" || !errors.Is(err, context.Canceled) {
		t.Errorf("get(in flight, ended context) = %q, %v; want the context's error", v, err)
	}
	close(release)
}

// Above maxEntries, expired entries are swept out.
func TestCacheSweep(t *testing.T) {
	c, clk := newTestCache(nil)
	ctx := context.Background()
	for i := range maxEntries + 1 {
		c.get(ctx, fmt.Sprint(i), func(context.Context) (string, error) { return "v", nil })
	}
	clk.advance(2 * time.Minute)
	c.get(ctx, "new", func(context.Context) (string, error) { return "v", nil })
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d entries after the sweep, want 1", n)
	}
}

// A failed lookup is not made again in the same scan, and is made again by the next one.
func TestCacheFailuresWithinAScan(t *testing.T) {
	c, _ := newTestCache(func(v string) bool { return v != "partial" })
	for _, tc := range []struct {
		value string
		err   error
	}{{"", errors.New("AccessDenied")}, {"partial", nil}} {
		key := fmt.Sprint(tc)
		fetches := 0
		fetch := func(context.Context) (string, error) { fetches++; return tc.value, tc.err }
		scan := withScan(context.Background())
		for range 3 {
			if v, err := c.get(scan, key, fetch); v != tc.value || err != tc.err {
				t.Errorf("get() = %q, %v; want %q, %v", v, err, tc.value, tc.err)
			}
		}
		if fetches != 1 {
			t.Errorf("%q, %v: %d fetches in one scan, want 1", tc.value, tc.err, fetches)
		}
		c.get(withScan(context.Background()), key, fetch)
		if fetches != 2 {
			t.Errorf("%q, %v: %d fetches after a second scan, want 2", tc.value, tc.err, fetches)
		}
	}
}
