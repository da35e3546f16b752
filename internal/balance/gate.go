package balance

import (
	"math"
	"strconv"
)

// The rule that decides which loads are worth publishing. A server offers
// its load once per interval (zkbalance's Interval, the sidecar's
// --load_interval), which bounds its writes to one per interval whatever
// its request rate; the rule leaves out the changes that would not change
// a client's choice:
//
//   - a load is published rounded to one decimal (FormatLoad);
//   - the first load is always published;
//   - later, a load is published when it differs from the one published
//     last by at least MinLoadChange and by at least RelLoadChange of it,
//     or when it is 0 and the last one was not (the server went idle).
//
// A server whose load holds steady thus writes nothing at all.
const (
	// MinLoadChange is the least absolute change of a load worth
	// publishing: half a request in flight.
	MinLoadChange = 0.5
	// RelLoadChange is the least change of a load worth publishing,
	// relative to the load published last: 20%.
	RelLoadChange = 0.2
)

// maxLoad bounds a published load, so that its text stays short.
const maxLoad = 1e9

// LoadGate applies the rule to the loads of one node. The zero LoadGate
// has published nothing. It is not safe for concurrent use.
type LoadGate struct {
	published float64 // the load published last, rounded
	has       bool    // a load was published
}

// Offer returns load as it would be published, and whether it is worth
// publishing. Once it is published, call Published.
func (g *LoadGate) Offer(load float64) (text string, publish bool) {
	v := roundLoad(load)
	text = FormatLoad(v)
	switch {
	case !g.has:
		return text, true
	case v == g.published:
		return text, false
	case v == 0:
		return text, true
	}
	return text, math.Abs(v-g.published) >= max(MinLoadChange, RelLoadChange*g.published)
}

// Published records that load was published.
func (g *LoadGate) Published(load float64) {
	g.published, g.has = roundLoad(load), true
}

// FormatLoad returns load as it is published: rounded to one decimal,
// without trailing zeros ("0", "2.5", "12"), negative loads as 0.
func FormatLoad(load float64) string {
	return strconv.FormatFloat(roundLoad(load), 'f', -1, 64)
}

// roundLoad rounds load to one decimal, within [0, maxLoad].
func roundLoad(load float64) float64 {
	if !(load > 0) { // negative or NaN
		return 0
	}
	return math.Round(min(load, maxLoad)*10) / 10
}
