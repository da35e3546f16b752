package balance

import (
	"context"
	"sync"
	"time"
)

// Meter counts the requests a server is handling, and averages that count
// over time: Mean returns the mean number of requests in flight since the
// previous Mean, each request weighted by the time it was in flight (a
// request that lasted the whole period counts 1, one that lasted a tenth
// of it 0.1). By Little's law that is the request rate times the mean
// latency: a slow server has a higher load than a fast one at the same
// rate. The zero Meter is ready; its methods may be called concurrently.
type Meter struct {
	// now is the clock; time.Now when nil (tests set it).
	now func() time.Time

	mu       sync.Mutex // guards the fields below
	inFlight int
	area     float64       // requests in flight × seconds since start
	start    time.Time     // start of the period Mean averages over; zero before the first use
	changed  time.Time     // last time area was brought up to date
	active   time.Time     // last Begin or End
	idle     chan struct{} // closed when inFlight drops to 0; nil unless Quiet waits
}

// Begin counts a request that starts; End must follow.
func (m *Meter) Begin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active = m.advance()
	m.inFlight++
}

// End counts the end of a request counted by Begin.
func (m *Meter) End() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active = m.advance()
	if m.inFlight > 0 {
		m.inFlight--
	}
	if m.inFlight == 0 && m.idle != nil {
		close(m.idle)
		m.idle = nil
	}
}

// InFlight returns the number of requests in flight.
func (m *Meter) InFlight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight
}

// Mean returns the time-weighted mean number of requests in flight since
// the previous call (since the first Begin for the first call), and starts
// a new period.
func (m *Meter) Mean() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.advance()
	elapsed := now.Sub(m.start).Seconds()
	mean := float64(m.inFlight)
	if elapsed > 0 {
		mean = m.area / elapsed
	}
	m.area, m.start = 0, now
	return mean
}

// Quiet returns once no request has been in flight for d (at once if none
// has been for that long), or with ctx's error when ctx ends first.
func (m *Meter) Quiet(ctx context.Context, d time.Duration) error {
	for {
		m.mu.Lock()
		var idle chan struct{}
		var wait time.Duration
		if m.inFlight > 0 {
			if m.idle == nil {
				m.idle = make(chan struct{})
			}
			idle = m.idle
		} else {
			wait = d - m.clock().Sub(m.active)
		}
		m.mu.Unlock()
		if idle == nil && wait <= 0 {
			return nil
		}
		if idle != nil {
			select {
			case <-idle:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// advance brings the area up to now, which it returns. m.mu is held.
func (m *Meter) advance() time.Time {
	now := m.clock()
	if m.start.IsZero() {
		m.start, m.changed = now, now
	}
	m.area += float64(m.inFlight) * now.Sub(m.changed).Seconds()
	m.changed = now
	return now
}

// clock returns the time.
func (m *Meter) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}
