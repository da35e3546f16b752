package zkbalance

import (
	"context"
	"time"

	"go-micro.dev/v4/selector"
)

// Defaults of the options.
const (
	// DefaultInterval is the default Interval: a node's load is written
	// at most once a second.
	DefaultInterval = time.Second
	// DefaultDrainTimeout is the default DrainTimeout.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultFailures is the default Failures.
	DefaultFailures = 3
	// DefaultBackoff is the default Backoff.
	DefaultBackoff = 10 * time.Second
	// DefaultMaxBackoff is the default MaxBackoff.
	DefaultMaxBackoff = 2 * time.Minute
)

// drainQuiet is how long a draining server must have had no request in
// flight before Drain returns: long enough for the requests of clients
// that picked the node before they learnt of the drain (within
// milliseconds, by a ZooKeeper watch) to arrive.
const drainQuiet = 200 * time.Millisecond

// Option configures a Load (NewLoad, Publish).
type Option func(*loadConfig)

// refreshEvery is how often a Load sets the load it published last again
// although it did not change: free while the node holds it (the engine
// writes nothing for an unchanged value), it restores the load after
// go-micro deregistered and registered the node again (after a failed
// RegisterCheck), which forgets the node's metadata.
const refreshEvery = 30 * time.Second

// loadConfig is a Load's configuration, over the defaults.
type loadConfig struct {
	interval     time.Duration
	drainTimeout time.Duration
	refresh      time.Duration // refreshEvery; tests shorten it
}

// newLoadConfig applies opts over the defaults.
func newLoadConfig(opts []Option) loadConfig {
	c := loadConfig{interval: DefaultInterval, drainTimeout: DefaultDrainTimeout, refresh: refreshEvery}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// Interval sets how often a server offers its load for publication: it
// writes its node at most once per Interval, however busy it is, and only
// when the load changed enough to matter (see the package documentation).
// Default DefaultInterval (1 s); d <= 0 keeps it.
func Interval(d time.Duration) Option {
	return func(c *loadConfig) {
		if d > 0 {
			c.interval = d
		}
	}
}

// DrainTimeout bounds how long Drain waits, once the node is published as
// draining, for the requests in flight to end and none to arrive for a
// moment. Default DefaultDrainTimeout (10 s); 0 does not wait; d < 0 keeps
// the default.
func DrainTimeout(d time.Duration) Option {
	return func(c *loadConfig) {
		if d >= 0 {
			c.drainTimeout = d
		}
	}
}

// Selector options are go-micro selector.Options, stored in its Context
// under these keys.
type (
	failuresKey   struct{}
	backoffKey    struct{}
	maxBackoffKey struct{}
)

// Failures sets how many consecutive failed requests to a node make
// NewSelector's selector eject it (see Backoff). A failure is an error
// other than a go-micro error with a 4xx code (the caller's fault), except
// 408 (timeout) and 429 (too many requests), which count. Default
// DefaultFailures (3); n < 1 keeps it.
func Failures(n int) selector.Option {
	return withValue(failuresKey{}, n)
}

// Backoff sets how long NewSelector's selector keeps an ejected node out
// of its choice; the node is then let back, and if it fails Failures times
// in a row again before any success, it is ejected for twice as long, up
// to MaxBackoff. Default DefaultBackoff (10 s); d <= 0 keeps it.
func Backoff(d time.Duration) selector.Option {
	return withValue(backoffKey{}, d)
}

// MaxBackoff bounds the doubling ejection periods of NewSelector's
// selector. Default DefaultMaxBackoff (2 min); a value below Backoff is
// Backoff.
func MaxBackoff(d time.Duration) selector.Option {
	return withValue(maxBackoffKey{}, d)
}

// withValue is the selector option that stores v under key in the
// options' Context.
func withValue(key, v any) selector.Option {
	return func(o *selector.Options) {
		ctx := o.Context
		if ctx == nil {
			ctx = context.Background()
		}
		o.Context = context.WithValue(ctx, key, v)
	}
}

// ejectConfig is the ejection configuration of a selector, over the
// defaults.
type ejectConfig struct {
	failures            int
	backoff, maxBackoff time.Duration
}

// ejectConfigOf reads the ejection options in ctx (a selector.Options
// Context, which may be nil).
func ejectConfigOf(ctx context.Context) ejectConfig {
	c := ejectConfig{failures: DefaultFailures, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff}
	if ctx == nil {
		return c
	}
	if n, ok := ctx.Value(failuresKey{}).(int); ok && n >= 1 {
		c.failures = n
	}
	if d, ok := ctx.Value(backoffKey{}).(time.Duration); ok && d > 0 {
		c.backoff = d
	}
	if d, ok := ctx.Value(maxBackoffKey{}).(time.Duration); ok && d > 0 {
		c.maxBackoff = d
	}
	c.maxBackoff = max(c.maxBackoff, c.backoff)
	return c
}
