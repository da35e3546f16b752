package balance

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// loadOf is the load function of c that reads the nodes' own loads.
func loadOf(c *Chooser) func(int) float64 { return func(i int) float64 { return c.nodes[i].Load } }

// shares picks n times and returns the share of the picks of each node.
func shares(c *Chooser, n int, load func(int) float64) []float64 {
	counts := make([]float64, len(c.nodes))
	for range n {
		counts[c.Choose(load)]++
	}
	for i := range counts {
		counts[i] /= float64(n)
	}
	return counts
}

func TestChooserPicksTheLessLoadedOfTwo(t *testing.T) {
	// The draws are scripted: node 0 first, then node 2 of the others.
	seq := []float64{0.1, 0.9}
	c := NewChooser([]Node{{Load: 5, Weight: 1}, {Load: 0, Weight: 1}, {Load: 1, Weight: 1}})
	c.rnd = func() float64 { v := seq[0]; seq = append(seq[1:], v); return v }
	assert.Equal(t, 2, c.Choose(loadOf(c)), "node 2 is less loaded than node 0; node 1 was not drawn")

	// Load per weight: 4/4 beats 2/1.
	c = NewChooser([]Node{{Load: 2, Weight: 1}, {Load: 4, Weight: 4}})
	assert.Equal(t, 1, c.Choose(loadOf(c)))
}

func TestChooserNeverPicksTheMostLoadedOfThree(t *testing.T) {
	c := NewChooser([]Node{{Load: 1, Weight: 1}, {Load: 9, Weight: 1}, {Load: 2, Weight: 1}})
	s := shares(c, 3000, loadOf(c))
	assert.Zero(t, s[1], "the most loaded node loses every comparison")
	// The least loaded wins each pair it is drawn in: 2 of 3 pairs.
	assert.InDelta(t, 2.0/3, s[0], 0.06)
}

func TestChooserSharesByWeightWhenLoadsAreEqual(t *testing.T) {
	c := NewChooser([]Node{{Weight: 1}, {Weight: 3}})
	s := shares(c, 8000, loadOf(c))
	assert.InDelta(t, 0.25, s[0], 0.03, "a tie goes to the first drawn, drawn by weight")
	assert.InDelta(t, 0.75, s[1], 0.03)
}

func TestChooserSkipsDrainingNodesWhileAnotherServes(t *testing.T) {
	c := NewChooser([]Node{{Weight: 1, Draining: true}, {Load: 50, Weight: 1}, {Weight: 1, Draining: true}})
	s := shares(c, 500, loadOf(c))
	assert.Equal(t, []float64{0, 1, 0}, s, "the only serving node, however loaded")

	c = NewChooser([]Node{{Weight: 1, Draining: true}, {Weight: 1, Draining: true}})
	s = shares(c, 500, loadOf(c))
	assert.Positive(t, s[0], "every node drains: they are chosen anyway")
	assert.Positive(t, s[1])

	c = NewChooser(nil)
	assert.Equal(t, -1, c.Choose(loadOf(c)))
}

func TestChooserDrawsTwoDistinctNodes(t *testing.T) {
	// Scripted draws at the very edges of the range.
	for _, seq := range [][]float64{{0, 0}, {0.999999999, 0.999999999}, {0.5, 0}, {0.5, 0.999999999}} {
		c := NewChooser([]Node{{Load: 1, Weight: 1}, {Load: 2, Weight: 2}, {Load: 3, Weight: 3}})
		k := 0
		c.rnd = func() float64 { v := seq[k%2]; k++; return v }
		a := c.draw(-1)
		b := c.draw(a)
		assert.NotEqual(t, a, b, "draws %v", seq)
		assert.True(t, b >= 0 && b < 3)
	}
}
