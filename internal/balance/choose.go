package balance

import (
	"math/rand/v2"
	"sort"
)

// Chooser picks nodes by the power of two random choices (Mitzenmacher,
// 2001): it draws two distinct nodes at random, each with a probability
// proportional to its weight, and returns the one with the lower load per
// weight, the first drawn on a tie. So among nodes equally loaded (or that
// publish no load) each gets a share of the picks proportional to its
// weight; otherwise the traffic goes where load/weight is lower, and the
// loads it raises steer it back. Comparing two nodes rather than taking the
// least loaded of all keeps clients that see the same loaded-a-moment-ago
// figures from all rushing to the same node.
//
// A draining node is drawn only when every node drains (better an answer
// from a node on its way out than none).
//
// A Chooser is built for one set of nodes and may be used concurrently.
type Chooser struct {
	nodes []Node
	pool  []int     // the nodes drawn from: those not draining, or all
	cum   []float64 // cum[i]: the sum of the weights of pool[0..i]

	// rnd returns a uniform number in [0, 1); rand.Float64 when nil
	// (tests set it).
	rnd func() float64
}

// NewChooser returns a Chooser of nodes (nodes[i] is node i).
func NewChooser(nodes []Node) *Chooser {
	c := &Chooser{nodes: nodes}
	for i, n := range nodes {
		if !n.Draining {
			c.pool = append(c.pool, i)
		}
	}
	if len(c.pool) == 0 {
		for i := range nodes {
			c.pool = append(c.pool, i)
		}
	}
	c.cum = make([]float64, len(c.pool))
	sum := 0.0
	for k, i := range c.pool {
		sum += nodes[i].Weight
		c.cum[k] = sum
	}
	return c
}

// Choose returns the index of the node picked, or -1 if there is none.
// load returns the load of node i: its Load, or what the caller knows
// better (a client's own requests in flight).
func (c *Chooser) Choose(load func(i int) float64) int {
	switch len(c.pool) {
	case 0:
		return -1
	case 1:
		return c.pool[0]
	}
	a := c.draw(-1)
	b := c.draw(a)
	ia, ib := c.pool[a], c.pool[b]
	if load(ib)/c.nodes[ib].Weight < load(ia)/c.nodes[ia].Weight {
		return ib
	}
	return ia
}

// draw returns a position in pool drawn with a probability proportional
// to its node's weight, other than skip (-1: none).
func (c *Chooser) draw(skip int) int {
	n := len(c.pool)
	total := c.cum[n-1]
	var before, width float64 // the cumulative weight before skip, and skip's weight
	if skip >= 0 {
		width = c.cum[skip]
		if skip > 0 {
			before = c.cum[skip-1]
			width -= before
		}
		total -= width
	}
	r := c.random() * total
	if skip >= 0 && r >= before {
		r += width // step over skip
	}
	k := sort.Search(n, func(k int) bool { return c.cum[k] > r })
	if k >= n {
		k = n - 1 // rounding at the top end
	}
	if k == skip {
		k = (skip + 1) % n // rounding at skip's edge
	}
	return k
}

// random returns a uniform number in [0, 1).
func (c *Chooser) random() float64 {
	if c.rnd != nil {
		return c.rnd()
	}
	return rand.Float64()
}
