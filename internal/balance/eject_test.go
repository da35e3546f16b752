package balance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEjectorEjectsAfterConsecutiveFailuresThenLetsBack(t *testing.T) {
	clock := newFakeClock()
	e := NewEjector(3, time.Second, 4*time.Second)
	e.now = clock.now

	assert.Zero(t, e.Report("a", true))
	assert.Zero(t, e.Report("a", false), "a success starts the count over")
	assert.Zero(t, e.Report("a", true))
	assert.Zero(t, e.Report("a", true))
	assert.False(t, e.Ejected("a"))
	assert.Equal(t, time.Second, e.Report("a", true), "the third failure in a row")
	assert.True(t, e.Ejected("a"))
	assert.False(t, e.Ejected("b"))
	assert.Zero(t, e.Report("a", true), "requests sent before the ejection do not count")

	clock.advance(time.Second)
	assert.False(t, e.Ejected("a"), "let back after the backoff")
	// Failing again without a success: twice as long, up to the maximum.
	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second} {
		e.Report("a", true)
		e.Report("a", true)
		assert.Equal(t, want, e.Report("a", true))
		clock.advance(want)
	}
	// A success starts over.
	assert.Zero(t, e.Report("a", false))
	assert.False(t, e.Any(), "nothing left to remember")
	e.Report("a", true)
	e.Report("a", true)
	assert.Equal(t, time.Second, e.Report("a", true))
}

func TestEjectorForgetsByPrefixAndSweepsGoneNodes(t *testing.T) {
	clock := newFakeClock()
	e := NewEjector(1, time.Second, 2*time.Second)
	e.now = clock.now
	e.Report("svc\x00a", true)
	e.Report("other\x00b", true)
	e.Forget("svc\x00")
	assert.False(t, e.Ejected("svc\x00a"))
	assert.True(t, e.Ejected("other\x00b"))

	// A node that reports nothing for the maximum period after its
	// ejection ended is forgotten at the next report.
	clock.advance(5 * time.Second)
	e.Report("svc\x00c", false)
	assert.False(t, e.Any())
}
