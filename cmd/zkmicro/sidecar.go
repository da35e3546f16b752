package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zkmicro/zookeeper/internal/balance"
)

// sidecar keeps one node registered while its health check passes. It
// checks at once and then every checkInterval; it registers the node on the
// first passing check, deregisters it after maxFailures consecutive failing
// checks, and registers it again on the next passing check. While healthy it
// registers the node again every registerInterval, which restores it if
// something removed it. A failed Register or Deregister is retried at the
// next check; each call may block until the registry gives up (its
// timeout), and a check that fell due meanwhile runs as soon as it
// returns. When run's context ends it deregisters the node.
//
// With readLoad, it also reads the server's load every loadInterval and,
// while the node is registered, publishes it with publishLoad when it
// changed enough (balance.LoadGate: zkbalance's rule), so that the node's
// znode is written at most once per loadInterval.
//
// A sidecar starts no goroutine: its state belongs to the goroutine in run.
type sidecar struct {
	register    func(ctx context.Context) error              // registers the node; idempotent
	deregister  func(ctx context.Context) error              // deregisters the node
	check       healthCheck                                  // nil: always healthy
	readLoad    func() (float64, error)                      // the server's load; nil: none published
	publishLoad func(ctx context.Context, load string) error // sets the node's load

	checkInterval    time.Duration // between checks (> 0)
	checkTimeout     time.Duration // bounds one check (> 0)
	maxFailures      int           // consecutive failed checks that deregister the node (>= 1)
	registerInterval time.Duration // between registrations while healthy (> 0)
	stopTimeout      time.Duration // bounds the final Deregister (> 0)
	loadInterval     time.Duration // between readings of the load (> 0 with readLoad)

	// logf logs a transition, a line each.
	logf func(format string, args ...any)
	// now is the clock that times Register and Deregister calls for the log.
	now func() time.Time

	// State, owned by the goroutine in run.
	healthy    bool // the node should be registered
	failures   int  // consecutive failed checks
	registered bool // the last Register succeeded, and no Deregister was attempted since
	mayExist   bool // a Register was attempted, and no Deregister succeeded since
	gate       balance.LoadGate
	loadErr    string // the last failure to read or publish the load, "" if none since
}

// run keeps the node registered while healthy until ctx ends, then
// deregisters it.
func (s *sidecar) run(ctx context.Context) {
	checks := time.NewTicker(s.checkInterval)
	defer checks.Stop()
	refresh := time.NewTicker(s.registerInterval)
	defer refresh.Stop()
	var loads <-chan time.Time
	if s.readLoad != nil {
		t := time.NewTicker(s.loadInterval)
		defer t.Stop()
		loads = t.C
	}
	s.probe(ctx)
	for {
		select {
		case <-ctx.Done():
			s.stop(ctx)
			return
		case <-checks.C:
			s.probe(ctx)
		case <-refresh.C:
			s.refresh(ctx)
		case <-loads:
			s.offerLoad(ctx)
		}
	}
}

// offerLoad reads the load and publishes it if the node is registered and
// the load changed enough. A failure is logged when it differs from the
// last one; the load published last stays meanwhile.
func (s *sidecar) offerLoad(ctx context.Context) {
	load, err := s.readLoad()
	if err != nil {
		s.loadFailed("reading the load", err)
		return
	}
	text, publish := s.gate.Offer(load)
	if !publish || !s.registered {
		return
	}
	if err := s.publishLoad(ctx, text); err != nil {
		if ctx.Err() == nil {
			s.loadFailed("publishing the load", err)
		}
		return
	}
	s.gate.Published(load)
	if s.loadErr != "" {
		s.loadErr = ""
		s.logf("load %s published", text)
	}
}

// loadFailed logs a failure to read or publish the load, unless it is the
// one logged last.
func (s *sidecar) loadFailed(what string, err error) {
	msg := fmt.Sprintf("%s failed, the last load published stays: %v", what, err)
	if msg != s.loadErr {
		s.loadErr = msg
		s.logf("%s", msg)
	}
}

// probe runs the check and acts on its result.
func (s *sidecar) probe(ctx context.Context) {
	err := s.runCheck(ctx)
	if ctx.Err() != nil {
		return // stopping: a check cut short says nothing about the server
	}
	if err == nil {
		s.failures = 0
		s.healthy = true
		if !s.registered {
			s.registerNode(ctx, s.healthyReason())
		}
		return
	}
	s.failures++
	switch {
	case s.healthy && s.failures < s.maxFailures:
		s.logf("check failed (%d of %d): %v", s.failures, s.maxFailures, err)
	case s.healthy || s.mayExist:
		// Just unhealthy, or still unhealthy with the last Deregister failed.
		s.healthy = false
		s.deregisterNode(ctx, fmt.Sprintf("unhealthy (%s: %v)", failureCount(s.failures), err))
	case s.failures == 1:
		s.logf("unhealthy (%v): not registered", err)
	}
}

// runCheck runs one check bounded by checkTimeout; no check is a pass.
func (s *sidecar) runCheck(ctx context.Context) error {
	if s.check == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.checkTimeout)
	defer cancel()
	return s.check(ctx)
}

// refresh registers the node again if it is healthy.
func (s *sidecar) refresh(ctx context.Context) {
	if s.healthy && ctx.Err() == nil {
		s.registerNode(ctx, "")
	}
}

// registerNode registers the node, and logs why ("healthy") if that
// changes what is known: the node registered, or a registration failed.
func (s *sidecar) registerNode(ctx context.Context, why string) {
	s.mayExist = true
	start := s.now()
	err := s.register(ctx)
	switch {
	case ctx.Err() != nil:
		// Stopping: stop deregisters whatever this did.
	case err != nil:
		s.registered = false
		s.logf("%sregister failed after %s, retrying at the next check: %v", reason(why), s.since(start), err)
	case !s.registered:
		s.registered = true
		// A node registered anew has no load: the next one is published
		// whatever it is.
		s.gate = balance.LoadGate{}
		s.logf("%sregistered", reason(why))
	}
}

// deregisterNode deregisters the node and logs why.
func (s *sidecar) deregisterNode(ctx context.Context, why string) {
	s.registered = false
	start := s.now()
	err := s.deregister(ctx)
	switch {
	case ctx.Err() != nil:
		// Stopping: stop deregisters again.
	case err != nil:
		s.logf("%sderegister failed after %s, retrying at the next check: %v", reason(why), s.since(start), err)
	default:
		s.mayExist = false
		s.logf("%sderegistered", reason(why))
	}
}

// stop deregisters the node, if it may be registered, within stopTimeout
// although ctx has ended. A failure is logged, not returned: the sidecar
// has stopped as asked, and ZooKeeper deletes the ephemeral node when the
// registry's session expires (a supervisor that sees a stop fail would
// mark the service failed, or fail the pod, for a ZooKeeper outage).
func (s *sidecar) stop(ctx context.Context) {
	if !s.mayExist {
		s.logf("stopped: not registered")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.stopTimeout)
	defer cancel()
	start := s.now()
	if err := s.deregister(ctx); err != nil {
		s.logf("stopped: deregister failed after %s: %v; ZooKeeper deletes the node when the session expires", s.since(start), err)
		return
	}
	s.mayExist = false
	s.registered = false
	s.logf("stopped: deregistered")
}

// since is the time from start to now, to the millisecond.
func (s *sidecar) since(start time.Time) time.Duration {
	return s.now().Sub(start).Round(time.Millisecond)
}

// healthyReason is why a passing check registers the node.
func (s *sidecar) healthyReason() string {
	if s.check == nil {
		return "" // no check: just "registered"
	}
	return "healthy"
}

// reason is why as the start of a log message: "why: ", or "".
func reason(why string) string {
	if why == "" {
		return ""
	}
	return why + ": "
}

// failureCount is "1 failure" or "N consecutive failures".
func failureCount(n int) string {
	if n == 1 {
		return "1 failure"
	}
	return fmt.Sprintf("%d consecutive failures", n)
}
