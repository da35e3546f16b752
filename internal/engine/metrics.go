package engine

import (
	"slices"
	"sync/atomic"
	"time"
)

// Op names a registry call whose count, errors and duration are kept.
type Op int

// The registry calls measured.
const (
	OpRegister Op = iota
	OpDeregister
	OpGetService
	OpListServices
	OpWatch
	numOps
)

// String returns the op's name as metrics label it: "register",
// "deregister", "get_service", "list_services", "watch".
func (o Op) String() string {
	switch o {
	case OpRegister:
		return "register"
	case OpDeregister:
		return "deregister"
	case OpGetService:
		return "get_service"
	case OpListServices:
		return "list_services"
	case OpWatch:
		return "watch"
	}
	return "unknown"
}

// Ops lists every Op.
func Ops() []Op { return []Op{OpRegister, OpDeregister, OpGetService, OpListServices, OpWatch} }

// durationBuckets are the upper bounds, in seconds, of the call duration
// histogram: from a mirror read (microseconds) to a call that waits out a
// timeout (seconds).
var durationBuckets = [...]float64{0.00001, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// DurationBuckets returns the upper bounds, in seconds, of the buckets of
// CallStats.Buckets (a copy).
func DurationBuckets() []float64 { return slices.Clone(durationBuckets[:]) }

// counters are the engine's counts, kept with atomics whichever face is in
// use. One is shared by a Client and what is built on it.
type counters struct {
	sessionsEstablished atomic.Uint64
	sessionExpirations  atomic.Uint64
	disconnects         atomic.Uint64
	restoredNodes       atomic.Uint64
	watchEvents         atomic.Uint64
	calls               [numOps]callCounters
}

// callCounters count one Op.
type callCounters struct {
	errors  atomic.Uint64
	buckets [len(durationBuckets) + 1]atomic.Uint64 // the last is +Inf
	nanos   atomic.Int64
}

// observe records a call of op that started at start and ended with err.
// A lookup that found no service (ErrNotFound) answered: it is no error.
func (c *counters) observe(op Op, start time.Time, err error) {
	d := time.Since(start)
	cc := &c.calls[op]
	if err != nil && err != ErrNotFound { //nolint:errorlint // the engine returns it itself
		cc.errors.Add(1)
	}
	s := d.Seconds()
	i := 0
	for i < len(durationBuckets) && s > durationBuckets[i] {
		i++
	}
	cc.buckets[i].Add(1)
	cc.nanos.Add(int64(d))
}

// Stats is a snapshot of a registry's counts and gauges.
type Stats struct {
	SessionsEstablished uint64 // sessions established (the first and each after an expiry or a new connection)
	SessionExpirations  uint64 // sessions ZooKeeper expired
	Disconnects         uint64 // connections lost while a session was established
	RestoredNodes       uint64 // owned nodes re-created in a new session
	WatchEvents         uint64 // watch events received from ZooKeeper
	Connected           bool   // a session is established and the connection is up
	RegisteredNodes     int    // nodes registered and not deregistered, whether or not ZooKeeper holds them now
	OwnedNodes          int    // nodes held in ZooKeeper, confirmed in the current session
	MirroredServices    int    // services in the mirror
	MirroredNodes       int    // node znodes in the mirror
	Watchers            int    // watchers subscribed
	Calls               [numOps]CallStats
}

// CallStats are the counts of one Op.
type CallStats struct {
	Errors uint64
	Count  uint64
	Sum    time.Duration
	// Buckets holds cumulative counts: Buckets[i] calls took at most
	// durationBuckets[i] seconds.
	Buckets []uint64
}

// snapshot fills the counters' part of a Stats.
func (c *counters) snapshot(s *Stats) {
	s.SessionsEstablished = c.sessionsEstablished.Load()
	s.SessionExpirations = c.sessionExpirations.Load()
	s.Disconnects = c.disconnects.Load()
	s.RestoredNodes = c.restoredNodes.Load()
	s.WatchEvents = c.watchEvents.Load()
	for op := range c.calls {
		cc := &c.calls[op]
		cs := CallStats{
			Errors:  cc.errors.Load(),
			Sum:     time.Duration(cc.nanos.Load()),
			Buckets: make([]uint64, len(durationBuckets)),
		}
		var cum uint64
		for i := range durationBuckets {
			cum += cc.buckets[i].Load()
			cs.Buckets[i] = cum
		}
		cs.Count = cum + cc.buckets[len(durationBuckets)].Load()
		s.Calls[op] = cs
	}
}
