package balance

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInFlightCountsByKeyNeverBelowZero(t *testing.T) {
	var f InFlight
	f.Add("a")
	f.Add("a")
	f.Add("b")
	assert.Equal(t, 2, f.Get("a"))
	f.Done("a")
	f.Done("b")
	f.Done("b")
	assert.Equal(t, 1, f.Get("a"))
	assert.Equal(t, 0, f.Get("b"))
	f.Done("a")
	assert.Empty(t, f.n, "keys at zero are dropped")
}
