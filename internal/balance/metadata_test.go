package balance

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReadTreatsBadValuesAsAbsent(t *testing.T) {
	tests := []struct {
		name string
		md   map[string]string
		want Node
	}{
		{"nothing", nil, Node{Weight: 1}},
		{"load and weight", map[string]string{"load": "2.5", "weight": "3"}, Node{Load: 2.5, Weight: 3}},
		{"draining", map[string]string{"status": "draining"}, Node{Weight: 1, Draining: true}},
		{"another status serves", map[string]string{"status": "Draining"}, Node{Weight: 1}},
		{"load abc", map[string]string{"load": "abc"}, Node{Weight: 1}},
		{"negative load", map[string]string{"load": "-1"}, Node{Weight: 1}},
		{"load NaN", map[string]string{"load": "NaN"}, Node{Weight: 1}},
		{"load Inf", map[string]string{"load": "+Inf"}, Node{Weight: 1}},
		{"load too large", map[string]string{"load": "1e999"}, Node{Weight: 1}},
		{"hexadecimal load", map[string]string{"load": "0x10"}, Node{Weight: 1}},
		{"load with spaces", map[string]string{"load": " 3"}, Node{Weight: 1}},
		{"empty load", map[string]string{"load": ""}, Node{Weight: 1}},
		{"load with an exponent", map[string]string{"load": "1e2"}, Node{Weight: 1}},
		{"weight -1", map[string]string{"weight": "-1"}, Node{Weight: 1}},
		{"weight 0", map[string]string{"weight": "0"}, Node{Weight: 1}},
		{"weight abc", map[string]string{"weight": "abc"}, Node{Weight: 1}},
		{"fractional weight", map[string]string{"weight": "0.5"}, Node{Weight: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Read(tt.md))
		})
	}
}

func TestParseLoadAndWeight(t *testing.T) {
	for _, ok := range []string{"0", "3", "12.5", "007", "2.50"} {
		v, err := ParseLoad(ok)
		assert.NoError(t, err, ok)
		assert.GreaterOrEqual(t, v, 0.0, ok)
	}
	for _, bad := range []string{"", "abc", "-0.1", "-0", "+2", ".5", "5.", "1e3", "NaN", "Inf", "-Inf", "0x1p3", "1_000", " 1", "1 ", "1,5", "1.2.3", "٣"} {
		_, err := ParseLoad(bad)
		assert.Error(t, err, "%q", bad)
	}
	for _, ok := range []string{"1", "0.25", "10"} {
		_, err := ParseWeight(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"0", "-1", "0.0", "", "x"} {
		_, err := ParseWeight(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// Metadata is written by anyone allowed to register: whatever it holds,
// Read returns a usable node.
func FuzzRead(f *testing.F) {
	for _, seed := range [][3]string{{"3", "1", ""}, {"abc", "-1", "draining"}, {"1e308", "1e-308", "x"}, {"NaN", "Inf", ""}} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, load, weight, status string) {
		n := Read(map[string]string{"load": load, "weight": weight, "status": status})
		if !(n.Load >= 0) || math.IsInf(n.Load, 0) {
			t.Fatalf("load %q read as %v", load, n.Load)
		}
		if !(n.Weight > 0) || math.IsInf(n.Weight, 0) {
			t.Fatalf("weight %q read as %v", weight, n.Weight)
		}
		c := NewChooser([]Node{n, {Weight: 1}})
		if i := c.Choose(func(i int) float64 { return c.nodes[i].Load }); i < 0 || i > 1 {
			t.Fatalf("chose %d of 2 nodes", i)
		}
	})
}
